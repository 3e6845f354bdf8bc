"""The exception tree. Every error the library raises on purpose is a DomviaError.

Codes are stable strings shared with the spec, the vectors and other implementations.
"""

from __future__ import annotations

from typing import Any


class DomviaError(Exception):
    """Root of every error raised by domvia-e2ee. Code: E_INTERNAL (a bug, when raised as such).

    `code` is the stable error code of spec/errors.md, the same in every implementation; `str(error)`
    is a message for people, which may change between versions.
    """

    code = "E_INTERNAL"


class FormatError(DomviaError):
    """Malformed structure. Names the offending field; never carries secret bytes. Code: E_FORMAT.

    `field` names what was being read and `reason` what was wrong with it.
    """

    code = "E_FORMAT"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class AuthenticationError(DomviaError):
    """Decryption or verification failed. Deliberately says nothing more. Code: E_AUTH."""

    code = "E_AUTH"

    def __init__(self) -> None:
        super().__init__("authentication failed")


class UnknownKeyError(DomviaError):
    """The message or bundle refers to a key (epoch, key id) this holder does not have. Code: E_UNKNOWN_KEY."""

    code = "E_UNKNOWN_KEY"


class UnknownSenderError(DomviaError):
    """The sender's identity or its membership of the epoch is not known here yet. Code: E_UNKNOWN_SENDER."""

    code = "E_UNKNOWN_SENDER"


class ReplayError(DomviaError):
    """This (room, epoch, sender, message id) was already opened. Code: E_REPLAY."""

    code = "E_REPLAY"


class StaleEpochError(DomviaError):
    """A bundle is not newer than what is held: a rollback or a replayed bundle. Code: E_STALE."""

    code = "E_STALE"


class NotMemberError(DomviaError):
    """The epoch is held as a link only: this participant was not a member then. Code: E_NOT_MEMBER."""

    code = "E_NOT_MEMBER"


class DeviceTooNewError(NotMemberError):
    """This device was added after the epoch, but its user was a member then: restore the key backup
    or ask a sibling device for the key. Code: E_DEVICE_TOO_NEW."""

    code = "E_DEVICE_TOO_NEW"


class WithheldError(DomviaError):
    """The epoch's key was held and then forgotten by this device's retention policy: only the key
    backup can bring it back. Code: E_WITHHELD."""

    code = "E_WITHHELD"


class RollbackError(DomviaError):
    """A user's device list older than one already seen for that user (in the chain or by this key
    ring): a server replaying a list in which a removed device still appears. Code: E_ROLLBACK."""

    code = "E_ROLLBACK"


class GapError(DomviaError):
    """A bundle, slice or announcement is more than one epoch ahead: fetch the epochs in between. Code: E_GAP."""

    code = "E_GAP"


class DowngradeError(DomviaError):
    """A header lowers the KEM without saying so, or a history bundle uses another KEM than its anchor.
    Code: E_DOWNGRADE."""

    code = "E_DOWNGRADE"


class ForkError(DomviaError):
    """Two authorised histories of one room. `.evidence` (a group.forks.ForkEvidence) proves it to anyone.
    Code: E_FORK."""

    code = "E_FORK"

    def __init__(self, evidence: Any) -> None:
        self.evidence = evidence
        super().__init__(f"fork in room {evidence.room_id!r} at epoch {evidence.epoch} ({evidence.kind})")


class UnauthorizedError(DomviaError):
    """The signer of a bundle is not allowed to rotate or share keys for this room. Code: E_UNAUTHORIZED."""

    code = "E_UNAUTHORIZED"


class NotRecipientError(DomviaError):
    """A bundle or slice does not list this participant. Code: E_NOT_RECIPIENT."""

    code = "E_NOT_RECIPIENT"


class PolicyError(DomviaError):
    """Refused by local policy: an unsigned message where signatures are required,
    a key past its message bound, a membership change that is not allowed.

    Code: E_POLICY.
    """

    code = "E_POLICY"


class KeyExhaustedError(PolicyError):
    """The room key reached its nonce-safety bound for this sender; rotate first. Code: E_KEY_EXHAUSTED."""

    code = "E_KEY_EXHAUSTED"


class InvalidKeyError(DomviaError):
    """A public key is malformed, low-order or otherwise unusable. Code: E_BAD_KEY."""

    code = "E_BAD_KEY"


class UsageError(DomviaError, TypeError):
    """The library was called wrongly: an argument of the wrong type (a str plaintext, a number for
    an id). A TypeError too, so code that catches TypeError keeps working; raised before any work. Code: E_USAGE."""

    code = "E_USAGE"


ALL_ERRORS: tuple[type[DomviaError], ...] = (  # every error class, root first
    DomviaError,
    FormatError,
    AuthenticationError,
    UnknownKeyError,
    UnknownSenderError,
    ReplayError,
    StaleEpochError,
    NotMemberError,
    DeviceTooNewError,
    WithheldError,
    RollbackError,
    GapError,
    DowngradeError,
    ForkError,
    UnauthorizedError,
    NotRecipientError,
    PolicyError,
    KeyExhaustedError,
    InvalidKeyError,
    UsageError,
)
