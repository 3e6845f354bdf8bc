"""Why can't I read this? Every failure to open a message, in one stable taxonomy (spec/unreadable.md).

``explain(error)`` maps the error a key ring raised to its cause: a stable code, a sentence for the
person looking at the chat, and the one thing a client does about it. The CLI, the API and the spec
share the table; nothing here looks at secrets or at the message itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import DomviaError


@dataclass(frozen=True)
class Unreadable:
    """One cause: ``code`` (the error code), ``cause`` (a stable name), ``message`` (for users),
    ``action`` (a stable name of what a client does) and ``retry`` (whether reading again after the action
    can succeed)."""

    code: str
    cause: str
    message: str
    action: str
    retry: bool


_CAUSES: Final = (
    Unreadable("E_UNKNOWN_KEY", "no-key-yet", "Waiting for this message's key.", "fetch-epochs", True),
    Unreadable("E_GAP", "no-key-yet", "Waiting for this message's key.", "fetch-epochs", True),
    Unreadable("E_UNKNOWN_SENDER", "unknown-sender", "Checking who sent this message.", "fetch-member-proof", True),
    Unreadable("E_DEVICE_TOO_NEW", "device-too-new",
               "Sent before this device was added. Restore your key backup or open this chat on another of your "
               "devices to read it.", "restore-backup-or-ask-sibling", True),
    Unreadable("E_NOT_MEMBER", "not-a-member", "Sent while you were not in this room.", "none", False),
    Unreadable("E_WITHHELD", "withheld-by-policy",
               "This device no longer keeps keys this old. Restore your key backup to read it.", "restore-backup",
               True),
    Unreadable("E_FORK", "fork", "This room's history has split: some members see other messages. Your admins "
               "have been shown the evidence.", "warn-user", False),
    Unreadable("E_AUTH", "tampered", "This message was changed or damaged on its way and cannot be read.", "drop",
               False),
    Unreadable("E_FORMAT", "tampered", "This message was changed or damaged on its way and cannot be read.", "drop",
               False),
    Unreadable("E_REPLAY", "replayed", "A copy of a message already shown.", "ignore", False),
    Unreadable("E_STALE", "replayed", "An old message delivered again after the room moved on.", "ignore", False),
    Unreadable("E_UNAUTHORIZED", "unknown-sender", "Sent by someone who is not in this room.", "drop", False),
    Unreadable("E_BAD_KEY", "unknown-sender", "The sender's keys are not valid.", "drop", False),
    Unreadable("E_POLICY", "refused-by-policy", "Refused by this device's settings (an unsigned message).", "none",
               False),
)
TAXONOMY: Final = {c.code: c for c in _CAUSES}
UNKNOWN: Final = Unreadable("E_INTERNAL", "internal", "Something went wrong. Please report it.", "report", False)


def explain(error: DomviaError) -> Unreadable:
    """The cause of a failure to open a message. Raises nothing: an unexpected code is the "internal" cause."""
    return TAXONOMY.get(error.code, UNKNOWN)
