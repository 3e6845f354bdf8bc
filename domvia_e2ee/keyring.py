"""KeyRing: what one participant holds. It accepts bundles, keeps every epoch it received,
opens messages by epoch and key id, detects replays, and seals as its owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import sealing
from .bundle import Bundle, Slice
from .epoch import EpochRecord
from .errors import (
    FormatError, PolicyError, StaleEpochError, UnauthorizedError, UnknownKeyError, UnknownSenderError,
)
from .history import HistoryBundle
from .identity import Identity, PublicIdentity
from .keys import RoomKey
from .labels import MAGIC_BUNDLE, MAGIC_HISTORY, MAGIC_SLICE
from .message import DEFAULT_CONTENT_TYPE, SealedMessage
from .replay import DEFAULT_CAPACITY, ReplayWindow
from .sealing import OpenedMessage
from .verify import accept_bundle, accept_history, accept_slice, roster_upgrade


@dataclass(frozen=True)
class Accepted:
    """What accept() added: the room, the epochs and the kind of input."""

    room_id: str
    epochs: tuple[int, ...]
    kind: str


class KeyRing:
    """A participant's keys for every room it is in. Not thread-safe: one owner, one thread."""

    def __init__(self, owner: Identity, *, replay_capacity: int = DEFAULT_CAPACITY,
                 allow_unsigned: bool = False) -> None:
        self.owner = owner
        self.allow_unsigned = allow_unsigned
        self._directory: dict[str, PublicIdentity] = {owner.participant_id: owner.public}
        self._admins: dict[str, set[bytes]] = {}
        self._admin_rotation: set[str] = set()
        self._rooms: dict[str, dict[int, EpochRecord]] = {}
        self._replay = ReplayWindow(replay_capacity)

    def __repr__(self) -> str:
        return f"KeyRing(owner={self.owner.participant_id!r}, rooms={sorted(self._rooms)})"

    # -- trust ---------------------------------------------------------------------------

    def add_identity(self, identity: PublicIdentity, *, replace: bool = False) -> None:
        """Learns a participant's public keys. A changed identity must be replaced explicitly."""
        known = self._directory.get(identity.participant_id)
        if known is not None and known != identity and not replace:
            raise PolicyError(f"{identity.participant_id!r} already has another identity; pass replace=True")
        self._directory[identity.participant_id] = identity

    def identity(self, participant_id: str) -> PublicIdentity | None:
        return self._directory.get(participant_id)

    def require_admin_rotation(self, room_id: str) -> None:
        """From now on only the room's admins may rotate it, not any member of the previous epoch.
        This closes the race in which a member being removed signs its own next epoch first."""
        self._admin_rotation.add(room_id)

    def trust_admin(self, room_id: str, identity: PublicIdentity) -> None:
        """An admin may rotate or share history for the room without holding an earlier epoch."""
        self.add_identity(identity)
        self._admins.setdefault(room_id, set()).add(identity.fingerprint)

    # -- bundles -------------------------------------------------------------------------

    def accept(self, data: bytes | Bundle | Slice | HistoryBundle) -> Accepted:
        """Verifies and adds a rotation bundle, a slice or a history bundle. All or nothing."""
        if isinstance(data, Bundle):
            data.check()
            return self._accept_bundle(data)
        if isinstance(data, Slice):
            return self._accept_slice(data)
        if isinstance(data, HistoryBundle):
            data.check()
            return self._accept_history(data)
        magic = bytes(data[:4])
        if magic == MAGIC_BUNDLE:
            return self._accept_bundle(Bundle.from_bytes(data))
        if magic == MAGIC_SLICE:
            return self._accept_slice(Slice.from_bytes(data))
        if magic == MAGIC_HISTORY:
            return self._accept_history(HistoryBundle.from_bytes(data))
        raise FormatError("magic", "not a bundle, slice or history bundle")

    def _accept_slice(self, piece: Slice) -> Accepted:
        room_id = piece.header.room_id
        record = accept_slice(self.owner, piece, self._held(room_id), self.identity, self._admin_set(room_id),
                              members_may_rotate=room_id not in self._admin_rotation)
        return self._commit(piece.header.room_id, [(piece.header.epoch, record)], "slice")

    def _accept_history(self, history: HistoryBundle) -> Accepted:
        records = accept_history(self.owner, history, self._held(history.room_id), self.identity,
                                 self._admin_set(history.room_id))
        held = self._held(history.room_id)
        fresh = [(e.epoch, r) for e, r in zip(history.entries, records, strict=True) if e.epoch not in held]
        return self._commit(history.room_id, fresh, "history")

    def _accept_bundle(self, bundle: Bundle) -> Accepted:
        room_id, epoch = bundle.header.room_id, bundle.header.epoch
        held = self._held(room_id)
        if epoch in held:
            roster = roster_upgrade(self.owner, bundle, held[epoch], self.identity)
            if roster is not None:
                held[epoch].roster = roster
                return Accepted(room_id, (epoch,), "roster")
        record = accept_bundle(self.owner, bundle, held, self.identity, self._admin_set(room_id),
                               members_may_rotate=room_id not in self._admin_rotation)
        return self._commit(room_id, [(epoch, record)], "bundle")

    def _commit(self, room_id: str, records: list[tuple[int, EpochRecord]], kind: str) -> Accepted:
        room = self._rooms.setdefault(room_id, {})
        for epoch, record in records:
            room[epoch] = record
        return Accepted(room_id, tuple(epoch for epoch, _ in records), kind)

    def _held(self, room_id: str) -> dict[int, EpochRecord]:
        return self._rooms.get(room_id, {})

    def _admin_set(self, room_id: str) -> set[bytes]:
        return self._admins.get(room_id, set())

    # -- messages ------------------------------------------------------------------------

    def seal(self, room_id: str, plaintext: bytes, *, message_id: str,
             content_type: str = DEFAULT_CONTENT_TYPE, pad: bool = True) -> SealedMessage:
        """Seals and signs as the owner under the room's latest epoch."""
        record = self._latest(room_id)
        sealed = sealing.seal(record.key, plaintext, message_id=message_id, sender=self.owner,
                              content_type=content_type, pad=pad)
        record.messages += 1
        return sealed

    def seal_unsigned(self, room_id: str, plaintext: bytes, *, message_id: str,
                      content_type: str = DEFAULT_CONTENT_TYPE, pad: bool = True) -> SealedMessage:
        """Bot mode: no signature. Receivers must have allow_unsigned=True to open it."""
        record = self._latest(room_id)
        sealed = sealing.seal_unsigned(record.key, plaintext, message_id=message_id,
                                       sender_id=self.owner.participant_id, content_type=content_type, pad=pad)
        record.messages += 1
        return sealed

    def open(self, message: SealedMessage | bytes | str, *, check_replay: bool = True) -> OpenedMessage:
        """Opens a message of any held epoch.

        Live messages (the default) are checked for replay, and in a superseded epoch must come
        from a sender still in the room. check_replay=False re-reads stored history: neither check.
        """
        sealed = SealedMessage.parse(message)
        record = self._held(sealed.room_id).get(sealed.epoch)
        if record is None or not record.key.matches(sealed.key_id):
            raise UnknownKeyError(f"no key for room {sealed.room_id!r} epoch {sealed.epoch}")
        seen = (sealed.room_id, sealed.epoch, sealed.sender_id, sealed.message_id)
        if sealed.signed:
            opened = sealing._open_parsed(record.key, sealed, self._member(record, sealed))
        elif self.allow_unsigned:
            self._check_listed(record, sealed.sender_id)
            opened = sealing._open_unsigned_parsed(record.key, sealed)
        else:
            raise PolicyError("unsigned message refused: this key ring requires signatures")
        if check_replay:
            self._check_current(sealed)
            self._replay.check(seen)
            self._replay.record(seen)
        record.messages += 1
        return opened

    def _member(self, record: EpochRecord, sealed: SealedMessage) -> PublicIdentity:
        sender = self._directory.get(sealed.sender_id)
        if sender is None:
            raise UnknownSenderError(f"no public identity known for {sealed.sender_id!r}")
        member = record.is_member(sender.participant_id, sender.fingerprint)
        if member is None:
            raise UnknownSenderError(f"members of epoch {sealed.epoch} unknown: accept the full bundle")
        if not member:
            raise UnauthorizedError(f"{sealed.sender_id!r} is not a member of epoch {sealed.epoch}")
        return sender

    def _check_current(self, sealed: SealedMessage) -> None:
        """A live message in a superseded epoch must come from someone still in the room:
        otherwise a removed member could go on injecting under the old key."""
        held = self._held(sealed.room_id)
        latest = max(held)
        if sealed.epoch == latest:
            return
        if not sealed.signed:
            raise StaleEpochError(f"unsigned messages are accepted live only in the current epoch ({latest})")
        sender = self._directory[sealed.sender_id]
        if held[latest].is_member(sender.participant_id, sender.fingerprint) is False:
            raise UnauthorizedError(f"{sealed.sender_id!r} is no longer a member (epoch {latest})")

    @staticmethod
    def _check_listed(record: EpochRecord, sender_id: str) -> None:
        if record.roster is not None and sender_id not in record.roster:
            raise UnauthorizedError(f"{sender_id!r} is not a member of this epoch")

    # -- state ---------------------------------------------------------------------------

    def _latest(self, room_id: str) -> EpochRecord:
        held = self._held(room_id)
        if not held:
            raise UnknownKeyError(f"no key held for room {room_id!r}")
        return held[max(held)]

    def rooms(self) -> list[str]:
        return sorted(self._rooms)

    def epochs(self, room_id: str) -> list[int]:
        return sorted(self._held(room_id))

    def latest_epoch(self, room_id: str) -> int | None:
        held = self._held(room_id)
        return max(held) if held else None

    def record(self, room_id: str, epoch: int) -> EpochRecord:
        record = self._held(room_id).get(epoch)
        if record is None:
            raise UnknownKeyError(f"no key for room {room_id!r} epoch {epoch}")
        return record

    def key(self, room_id: str, epoch: int) -> RoomKey:
        return self.record(room_id, epoch).key

    def admin_rotation_rooms(self) -> list[str]:
        return sorted(self._admin_rotation)

    def admins(self, room_id: str) -> set[bytes]:
        return set(self._admin_set(room_id))

    def directory(self) -> Iterable[PublicIdentity]:
        return list(self._directory.values())

    def to_dict(self) -> dict[str, Any]:
        from .keyring_state import dump

        return dump(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], owner: Identity) -> KeyRing:
        from .keyring_state import load

        return load(cls, obj, owner)
