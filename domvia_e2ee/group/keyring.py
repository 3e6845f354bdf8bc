"""KeyRing: what one participant holds. It keeps each room's chain of epochs, accepts deliveries
on top of it, opens messages against the chain's rosters, detects replays and forks, and seals.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .. import labels, sealing
from ..errors import (
    DomviaError, ForkError, FormatError, NotMemberError, PolicyError, UnknownKeyError, UsageError,
)
from ..identity import Identity, PublicIdentity
from ..message import DEFAULT_CONTENT_TYPE, SealedMessage
from ..sealing import OpenedMessage
from .bundle import Announcement, Bundle, Slice
from .epoch import EpochRecord
from .forks import MAX_EVIDENCE_PER_ROOM, ForkEvidence
from .header import EpochHeader
from .history import HistoryBundle, accept_history
from .members import MemberProofFile, RosterEntry
from .keyring_users import UsersAndBackup
from .user_directory import UserDirectory
from .replay import DEFAULT_CAPACITY, DEFAULT_LIVE_EPOCHS, ReplayState
from . import batch_open, opening
from .verify import accept_delivery, accept_member_proof

Input = bytes | Bundle | Slice | Announcement | HistoryBundle | MemberProofFile
Parsed = Bundle | Slice | Announcement | HistoryBundle | MemberProofFile
_PARSERS: dict[bytes, Callable[[bytes], Parsed]] = {labels.MAGIC_BUNDLE: Bundle.from_bytes, labels.MAGIC_SLICE: Slice.from_bytes,
            labels.MAGIC_EPOCH: Announcement.from_bytes, labels.MAGIC_HISTORY: HistoryBundle.from_bytes,
            labels.MAGIC_MEMBER_PROOF: MemberProofFile.from_bytes}


@dataclass(frozen=True)
class Accepted:
    """What accept() changed: the room, the epochs, the kind of input, and pinned identities
    that the accepted roster lists with another key (to show the user; nothing was replaced)."""

    room_id: str
    epochs: tuple[int, ...]
    kind: str
    identity_changes: tuple[str, ...] = ()


def new_message_id() -> str:
    """A fresh random message id: ``m-`` and 128 random bits in base64url."""
    return "m-" + base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


class KeyRing(UsersAndBackup):
    """A participant's keys for every room it is in. Not thread-safe: one owner, one thread.

    ``replay_capacity`` and ``live_epochs`` bound the replay state; ``allow_unsigned`` lets open() accept
    unsigned messages."""

    def __init__(self, owner: Identity, *, replay_capacity: int = DEFAULT_CAPACITY,
                 live_epochs: int = DEFAULT_LIVE_EPOCHS, allow_unsigned: bool = False) -> None:
        self._owner = owner
        self.allow_unsigned = allow_unsigned
        self._directory: dict[str, PublicIdentity] = {owner.participant_id: owner.public}
        self._anchors: dict[str, set[bytes]] = {}
        self._rooms: dict[str, dict[int, EpochRecord]] = {}
        self._forks: dict[str, list[ForkEvidence]] = {}
        self._replay = ReplayState(replay_capacity, live_epochs)
        self._validated: dict[bytes, PublicIdentity] = {}
        self.users = UserDirectory()
        self._superseded: dict[str, tuple[int, int, list[str]]] = {}
        self._restored: set[str] = set()  # rooms whose earlier epochs came back from a backup or a sibling
        self._backed_up: set[tuple[str, int, bool]] = set()  # (room, epoch, with key) already in a backup chunk

    @property
    def owner(self) -> Identity:
        """The participant whose key ring this is."""
        return self._owner

    def __repr__(self) -> str:
        return f"KeyRing(owner={self._owner.participant_id!r}, rooms={sorted(self._rooms)})"

    # -- trust ---------------------------------------------------------------------------

    def add_identity(self, identity: PublicIdentity, *, replace: bool = False) -> None:
        """Pins a participant's public identity. Raises PolicyError (E_POLICY) for a different one of a pinned id
        without replace=True, and for any other identity of the owner's id."""
        known = self._directory.get(identity.participant_id)
        if known is not None and known != identity and not replace:
            raise PolicyError(f"{identity.participant_id!r} already has another identity; pass replace=True")
        if identity.participant_id == self._owner.participant_id and identity != self._owner.public:
            raise PolicyError("the owner's own identity cannot be replaced")
        self._directory[identity.participant_id] = identity

    def known_identity(self, participant_id: str) -> PublicIdentity | None:
        """The pinned identity of a participant id, if any (the owner's own is always pinned)."""
        return self._directory.get(participant_id)

    def trust_admin(self, room_id: str, identity: PublicIdentity) -> None:
        """Trusts identity to let this participant join room_id: the first trust anchor, used only
        while no epoch of the room is held. Raises PolicyError (E_POLICY) for a held room: the chain decides."""
        if self._rooms.get(room_id):
            raise PolicyError(f"room {room_id!r} is already held: its admins come from the signed chain")
        self.add_identity(identity)
        self._anchors.setdefault(room_id, set()).add(identity.fingerprint)

    def anchors(self, room_id: str) -> set[bytes]:
        """Fingerprints trusted to let this participant join room_id."""
        return set(self._anchors.get(room_id, set()))

    # -- accepting -----------------------------------------------------------------------

    def accept(self, data: Input) -> Accepted:
        """Verifies and adds a bundle, slice, announcement, history bundle or member proof. All or nothing:
        raises E_FORMAT, E_AUTH, E_UNAUTHORIZED, E_STALE, E_GAP, E_FORK, E_DOWNGRADE, E_NOT_RECIPIENT,
        E_UNKNOWN_KEY or E_BAD_KEY and then holds exactly what it held before (fork evidence aside)."""
        item = parse_input(data)
        if isinstance(item, HistoryBundle):
            return self._accept_history(item)
        if isinstance(item, MemberProofFile):
            return self._accept_member(item)
        room_id = item.header.room_id
        try:
            decision = accept_delivery(self._owner, item, self._held(room_id), self._anchors.get(room_id, set()),
                                       self.users.state())
        except ForkError as fork:
            self._keep(fork.evidence)
            raise
        self.users.keep(decision.lists.values())
        return self._commit(room_id, [decision.record], decision.kind)

    def _accept_history(self, history: HistoryBundle) -> Accepted:
        return self._commit(history.room_id, accept_history(self._owner, history, self._held(history.room_id)),
                            "history")

    def _accept_member(self, item: MemberProofFile) -> Accepted:
        record = self._held(item.room_id).get(item.epoch)
        if record is None:
            raise UnknownKeyError(f"epoch {item.epoch} of room {item.room_id!r} is not held")
        entry, lists = accept_member_proof(item, record, self.users.state())
        self.users.keep(lists.values())
        if entry.participant_id in record.roster:
            return Accepted(item.room_id, (), "member")
        record.roster[entry.participant_id] = entry
        return Accepted(item.room_id, (item.epoch,), "member", self._changes([entry]))

    def _commit(self, room_id: str, records: list[EpochRecord], kind: str) -> Accepted:
        room = self._rooms.setdefault(room_id, {})
        changes: list[RosterEntry] = []
        for record in records:
            room[record.epoch] = record
            changes.extend(record.roster.values())
        return Accepted(room_id, tuple(sorted(r.epoch for r in records)), kind, self._changes(changes))

    def _changes(self, entries: Iterable[RosterEntry]) -> tuple[str, ...]:
        changed = set()
        for entry in entries:
            pinned = self._directory.get(entry.participant_id)
            if pinned is not None and pinned.fingerprint != entry.fingerprint:
                changed.add(entry.participant_id)
        return tuple(sorted(changed))

    def _keep(self, evidence: ForkEvidence) -> None:
        kept = self._forks.setdefault(evidence.room_id, [])
        # Any member can sign a message under a made-up key id: such evidence gets half the slots, so it
        # cannot crowd out evidence of two signed headers.
        of_kind = [e for e in kept if (e.kind == "message") == (evidence.kind == "message")]
        if evidence not in kept and len(of_kind) < MAX_EVIDENCE_PER_ROOM // 2:
            kept.append(evidence)

    def _held(self, room_id: str) -> dict[int, EpochRecord]:
        return self._rooms.get(room_id, {})

    def forget_room(self, room_id: str) -> None:
        """Drops a room's chain, keys, replay state and evidence: the explicit step before rejoining a
        room's other branch after a fork, from an admin trusted again with trust_admin()."""
        self._rooms.pop(room_id, None)
        self._forks.pop(room_id, None)
        self._anchors.pop(room_id, None)
        self._replay.forget_room(room_id)
        self._restored.discard(room_id)
        self._backed_up = {b for b in self._backed_up if b[0] != room_id}

    # -- messages ------------------------------------------------------------------------

    def seal(self, room_id: str, plaintext: bytes, *, message_id: str | None = None,
             content_type: str = DEFAULT_CONTENT_TYPE, pad: bool = True) -> SealedMessage:
        """Seals and signs as the owner under the room's latest epoch. Without message_id a fresh random
        one is used; a message_id already used in this epoch is refused (E_POLICY), so receivers never
        drop a genuine message as a replay. Raises E_UNKNOWN_KEY, E_NOT_MEMBER, E_KEY_EXHAUSTED, and E_STALE
        once the epoch's replay state is full."""
        return self._seal(room_id, plaintext, message_id, content_type, pad, signed=True)

    def seal_unsigned(self, room_id: str, plaintext: bytes, *, message_id: str | None = None,
                      content_type: str = DEFAULT_CONTENT_TYPE, pad: bool = True) -> SealedMessage:
        """Bot mode: no signature. Receivers must have allow_unsigned=True to open it. Raises as seal() does."""
        return self._seal(room_id, plaintext, message_id, content_type, pad, signed=False)

    def _seal_from_parts(self, room_id: str, plaintext: bytes, *, message_id: str, nonce: bytes) -> SealedMessage:
        """Fixed-nonce signed sealing, for vectors only: never with a nonce used before."""
        return self._seal(room_id, plaintext, message_id, DEFAULT_CONTENT_TYPE, True, signed=True, nonce=nonce)

    def _seal(self, room_id: str, plaintext: bytes, message_id: str | None, content_type: str, pad: bool, *,
              signed: bool, nonce: bytes | None = None) -> SealedMessage:
        record = self._current(room_id)
        mine = record.member(self._owner.participant_id)
        if mine is None or mine.fingerprint != self._owner.public.fingerprint:  # e.g. a key restored from a backup
            raise NotMemberError(f"you are not a member of room {room_id!r} epoch {record.epoch}")
        gone = self.superseded_devices(room_id)
        if gone:
            raise PolicyError(f"a rotation is due: {gone} left their users' device lists after epoch {record.epoch}")
        message_id = new_message_id() if message_id is None else message_id
        owner_id = self._owner.participant_id
        self._replay.reserve_seal(room_id, record.epoch, owner_id, message_id)
        try:
            key = record.key
            assert key is not None
            if nonce is not None:
                sealed = sealing._seal_from_parts(key, plaintext, message_id=message_id, sender_id=owner_id,
                                                  content_type=content_type, pad=pad, nonce=nonce, signer=self._owner)
            elif signed:
                sealed = sealing.seal(key, plaintext, message_id=message_id, sender=self._owner,
                                      content_type=content_type, pad=pad)
            else:
                sealed = sealing.seal_unsigned(key, plaintext, message_id=message_id, sender_id=owner_id,
                                               content_type=content_type, pad=pad)
        except BaseException:
            self._replay.forget_seal(room_id, record.epoch, owner_id, message_id)
            raise
        record.messages += 1
        return sealed

    def open(self, message: SealedMessage | bytes | str, *, check_replay: bool = True) -> OpenedMessage:
        """Opens a message of any held epoch (spec/keyring.md, "Opening").

        Live messages (the default) are checked for replay, and in a superseded epoch must come from a
        sender still in the room. check_replay=False re-reads stored history: neither check. Raises
        E_USAGE, E_FORMAT, E_UNKNOWN_KEY, E_DEVICE_TOO_NEW, E_WITHHELD, E_NOT_MEMBER, E_FORK, E_UNKNOWN_SENDER, E_UNAUTHORIZED, E_BAD_KEY,
        E_AUTH, E_POLICY (PolicyError: unsigned without allow_unsigned), E_STALE or E_REPLAY, and changes
        nothing when it does (fork evidence aside).
        """
        if not isinstance(message, SealedMessage | bytes | bytearray | memoryview | str):
            raise UsageError(f"a message is a SealedMessage, bytes or str, not {type(message).__name__}")
        sealed = SealedMessage.parse(message)
        held = self._held(sealed.room_id)
        opening.before_first(held, sealed, self._owner.participant_id, sealed.room_id in self._restored)
        record, key = opening.keyed_record(held, sealed, self._validate, self._keep)
        if sealed.signed:
            opened = sealing._open_parsed(key, sealed, opening.sender(record, sealed.sender_id, self._validate))
        elif self.allow_unsigned:
            opening.sender(record, sealed.sender_id, self._validate)
            opened = sealing._open_unsigned_parsed(key, sealed)
        else:
            raise PolicyError("unsigned message refused: this key ring requires signatures")
        if check_replay:
            latest = max(held)
            opening.check_current(sealed, held, held[latest])
            self._replay.check_open(sealed.room_id, sealed.epoch, latest, sealed.sender_id, sealed.message_id)
            self._replay.record_open(sealed.room_id, sealed.epoch, latest, sealed.sender_id, sealed.message_id)
        record.messages += 1
        return opened

    def open_history(self, messages: Iterable[SealedMessage | bytes | str]) -> list[OpenedMessage | DomviaError]:
        """Re-reads stored messages (spec/keyring.md, "Opening a history"): one result per message, in order,
        each the OpenedMessage that ``open(m, check_replay=False)`` returns or the DomviaError it raises (a
        failing message does not stop the others). Signatures are verified on two threads."""
        return batch_open.open_history(batch_open.Ring(self._held, self._owner.participant_id, self._restored,
                                                       self._validate, self._keep, self.allow_unsigned), messages)

    def _validate(self, entry: RosterEntry) -> PublicIdentity:
        """A roster member as a signer (messages, fork evidence): only its Ed25519 key is checked."""
        identity = self._validated.get(entry.fingerprint)
        if identity is None:
            identity = self._validated[entry.fingerprint] = entry.signer()
        return identity

    # -- views ---------------------------------------------------------------------------

    def _current(self, room_id: str) -> EpochRecord:
        held = self._held(room_id)
        if not held:
            raise UnknownKeyError(f"no key held for room {room_id!r}")
        record = held[max(held)]
        if record.key is None:
            raise NotMemberError(f"you are not a member of room {room_id!r} since epoch {record.epoch}")
        return record

    def rooms(self) -> list[str]:
        """Ids of the rooms with at least one held epoch."""
        return sorted(r for r, held in self._rooms.items() if held)

    def epochs(self, room_id: str) -> list[int]:
        """The held epochs of a room (a contiguous range), links included."""
        return sorted(self._held(room_id))

    def latest_epoch(self, room_id: str) -> int | None:
        """The newest held epoch of a room, or None."""
        held = self._held(room_id)
        return max(held) if held else None

    def record(self, room_id: str, epoch: int) -> EpochRecord:
        """The record of one held epoch. Raises UnknownKeyError (E_UNKNOWN_KEY) if it is not held."""
        record = self._held(room_id).get(epoch)
        if record is None:
            raise UnknownKeyError(f"epoch {epoch} of room {room_id!r} is not held")
        return record

    def header(self, room_id: str, epoch: int | None = None) -> EpochHeader:
        """The signed header of an epoch (default: the latest): its admins, policy, suite and KEM.
        Raises UnknownKeyError (E_UNKNOWN_KEY) if it is not held."""
        return self.record(room_id, self.latest_epoch(room_id) or 0 if epoch is None else epoch).header

    def forks(self, room_id: str) -> list[ForkEvidence]:
        """Fork evidence kept for a room (at most 16)."""
        return list(self._forks.get(room_id, []))

    def directory(self) -> list[PublicIdentity]:
        """Every pinned identity, the owner's included."""
        return list(self._directory.values())


def parse_input(data: Input) -> Parsed:
    """Any group-state input: bytes parsed by their magic, an object checked by the same parse rules.
    Raises FormatError (E_FORMAT) naming the field."""
    if isinstance(data, Bundle | Slice | Announcement):
        EpochHeader.from_bytes(data.header.to_bytes())  # an object obeys the header's parse rules too
    if isinstance(data, Bundle):
        data.check_object()
    if isinstance(data, HistoryBundle):
        data.check()
    if isinstance(data, Bundle | Slice | Announcement | HistoryBundle | MemberProofFile):
        return data
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError("input", "must be the bytes of a bundle, slice, announcement, history bundle or member proof")
    parser = _PARSERS.get(bytes(data[:4]))
    if parser is None:
        raise FormatError("magic", "not a version 3 bundle, slice, announcement, history bundle or member proof")
    return parser(bytes(data))
