"""Opening a message against the chain (spec/keyring.md, "Opening"): which epoch record and key,
who the sender is in that epoch's roster, and whether a live message in a superseded epoch still
comes from a member. Pure checks; the key ring runs them in the spec's order and commits nothing
until they all pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .. import labels
from ..encoding import Writer
from ..errors import (
    AuthenticationError, DeviceTooNewError, ForkError, NotMemberError, StaleEpochError, UnauthorizedError, UnknownKeyError,
    UnknownSenderError, WithheldError,
)
from ..hazmat import curves
from ..identity import PublicIdentity
from ..keys import RoomKey
from ..message import SealedMessage
from .epoch import EpochRecord
from .forks import ForkEvidence
from .members import RosterEntry

Validate = Callable[[RosterEntry], PublicIdentity]


def keyed_record(held: Mapping[int, EpochRecord], sealed: SealedMessage, validate: Validate,
                 keep: Callable[[ForkEvidence], None]) -> tuple[EpochRecord, RoomKey]:
    """Step 2: the record and key of the message's epoch. Raises UnknownKeyError (E_UNKNOWN_KEY) if it is
    not held, WithheldError (E_WITHHELD) for a key forgotten under the retention policy, NotMemberError
    (E_NOT_MEMBER) for a link, or for another key id E_FORK or E_AUTH (message_fork)."""
    record = held.get(sealed.epoch)
    if record is None:
        raise UnknownKeyError(f"no key for room {sealed.room_id!r} epoch {sealed.epoch}")
    if record.key is None and record.withheld:
        raise WithheldError(f"the key of room {sealed.room_id!r} epoch {sealed.epoch} was forgotten under this "
                            "device's retention policy: restore it from the key backup")
    if record.key is None:
        raise NotMemberError(f"you were not a member of room {sealed.room_id!r} in epoch {sealed.epoch}")
    if not record.key.matches(sealed.key_id):
        raise message_fork(record, sealed, validate, keep)
    return record, record.key


def before_first(held: Mapping[int, EpochRecord], sealed: SealedMessage, owner_id: str, restored: bool) -> None:
    """A message of an epoch before the first one a user's device holds: the device was added after it
    (E_DEVICE_TOO_NEW: restore the backup, or ask a sibling) or, once the backup was restored, the user was
    not a member then either (E_NOT_MEMBER). A participant that is no user's device is told E_UNKNOWN_KEY
    by keyed_record, as before."""
    # A held epoch is never before the first (held epochs are contiguous): min() of a long chain is
    # O(epochs), and re-reading a history of 10,000 epochs paid it on every message.
    if sealed.epoch in held or not held or "/" not in owner_id or sealed.epoch >= min(held):
        return
    if restored:
        raise NotMemberError(f"none of your devices held room {sealed.room_id!r} epoch {sealed.epoch}")
    raise DeviceTooNewError(f"this device was added to room {sealed.room_id!r} after epoch {sealed.epoch}: "
                            "restore the key backup or ask one of your other devices")


def message_fork(record: EpochRecord, sealed: SealedMessage, validate: Validate,
                 keep: Callable[[ForkEvidence], None]) -> Exception:
    """A held epoch named with another key id: a fork if a member of the epoch signed it. Returns, not
    raises, ForkError (E_FORK), its evidence passed to ``keep``, or else AuthenticationError (E_AUTH)."""
    entry = record.member(sealed.sender_id)
    held = record.announcement()
    if not sealed.signed or sealed.signature is None or entry is None or held is None:
        return AuthenticationError()
    try:
        curves.verify(validate(entry).ed25519, sealed.signature, labels.SIG_MESSAGE + sealed.signed_part)
    except AuthenticationError as error:
        return error
    evidence = ForkEvidence(sealed.room_id, sealed.epoch, "message", held, sealed.to_bytes(),
                            entry.write(Writer()).getvalue())
    keep(evidence)
    return ForkError(evidence)


def sender(record: EpochRecord, sender_id: str, validate: Validate) -> PublicIdentity:
    """Step 3: the sender in the epoch's roster. Raises UnauthorizedError (E_UNAUTHORIZED) if a full roster
    does not list it, UnknownSenderError (E_UNKNOWN_SENDER) if a partial one does not, E_BAD_KEY from ``validate``."""
    entry = record.member(sender_id)
    if entry is None:
        if record.complete:
            raise UnauthorizedError(f"{sender_id!r} is not a member of epoch {record.epoch}")
        raise UnknownSenderError(f"membership of {sender_id!r} in epoch {record.epoch} not proved yet: "
                                 "fetch its member proof or the full bundle")
    return validate(entry)


def check_current(sealed: SealedMessage, held: Mapping[int, EpochRecord], latest: EpochRecord) -> None:
    """Step 5: a live message in a superseded epoch must come from someone still in the room:
    otherwise a removed member could go on injecting under the old key. Raises StaleEpochError (E_STALE)
    for an unsigned one, UnknownSenderError (E_UNKNOWN_SENDER) while the sender's membership of the latest
    epoch is not proved, UnauthorizedError (E_UNAUTHORIZED) if it is not a member with the same identity."""
    if sealed.epoch == latest.epoch:
        return
    if not sealed.signed:
        raise StaleEpochError(f"unsigned messages are accepted live only in the current epoch ({latest.epoch})")
    then = held[sealed.epoch].member(sealed.sender_id)
    now = latest.member(sealed.sender_id)
    if now is None and not latest.complete:
        raise UnknownSenderError(f"membership of {sealed.sender_id!r} in epoch {latest.epoch} not proved yet")
    if now is None or then is None or now.fingerprint != then.fingerprint:
        raise UnauthorizedError(f"{sealed.sender_id!r} is no longer a member (epoch {latest.epoch})")
