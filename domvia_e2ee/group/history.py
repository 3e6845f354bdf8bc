"""History bundles: past epoch keys wrapped to one joiner, on purpose, bound to the chain (spec/history.md).

Every entry carries its epoch's original header; the headers link by hash to the anchor epoch the
joiner holds, so a sharer can give only what the room really had: no invented epoch, key or roster.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .. import labels
from ..encoding import Reader, Writer, check_epoch, check_id
from ..errors import (
    AuthenticationError, DowngradeError, FormatError, NotRecipientError, UnauthorizedError, UnknownKeyError,
)
from ..hazmat import curves, merkle
from ..identity import Identity, PublicIdentity
from ..keys import RoomKey
from ..wrap import WrapKem, unwrap, wrap
from .epoch import EpochRecord
from .header import MAX_ISSUED_AT, EpochHeader
from .members import MemberProof, RosterEntry, open_reader

MAX_ENTRIES: Final = 4096
MAX_HISTORY_BYTES: Final = 64 << 20


@dataclass(frozen=True)
class HistoryEntry:
    """One past epoch: its header, and (unless link-only) its key wrapped to the recipient and its roster."""

    header_bytes: bytes
    header: EpochHeader
    wrapped: bytes
    roster: tuple[RosterEntry, ...]

    def write(self, w: Writer) -> None:
        """Writes the header, wrapped key and roster to ``w``."""
        w.bytes16(self.header_bytes).bytes16(self.wrapped).u32(len(self.roster))
        for member in self.roster:
            member.write(w)

    @classmethod
    def read(cls, r: Reader, kem: WrapKem) -> HistoryEntry:
        """Reads an entry wrapped with ``kem``. Raises FormatError (E_FORMAT) naming the field: a wrapped key of
        another size, a roster not listing exactly the epoch's members when a key is shared (else none), ids
        unsorted or repeated."""
        header_bytes = r.bytes16("entry.header")
        header = EpochHeader.from_bytes(header_bytes)
        wrapped = r.bytes16("entry.wrapped_key")
        if wrapped and len(wrapped) != kem.wrapped_size:
            raise FormatError("entry.wrapped_key", f"must be empty or {kem.wrapped_size} bytes")
        count = r.u32("entry.roster")
        if count != (header.member_count if wrapped else 0):
            raise FormatError("entry.roster", "must list the epoch's members exactly when a key is shared")
        roster = tuple(RosterEntry.read(r, "entry.roster", header.kem) for _ in range(count))
        ids = [m.participant_id.encode() for m in roster]
        if ids != sorted(set(ids)):
            raise FormatError("entry.roster", "must be sorted by id with no duplicates")
        return cls(header_bytes, header, wrapped, roster)


@dataclass(frozen=True)
class HistoryBundle:
    """Past epochs of one room shared by a member (the sharer) with one joiner (the recipient), signed by
    the sharer, whose member proof is for the anchor epoch the recipient holds."""

    room_id: str
    sharer_id: str
    recipient_id: str
    anchor_epoch: int
    issued_at: int
    kem: WrapKem
    entries: tuple[HistoryEntry, ...]
    signature: bytes
    sharer: MemberProof

    def body(self) -> bytes:
        """The signed body: room, sharer, recipient, anchor epoch, issued_at, KEM and the entries."""
        w = (Writer().str8(self.room_id).str8(self.sharer_id).str8(self.recipient_id).u32(self.anchor_epoch)
             .u64(self.issued_at).u8(self.kem).u32(len(self.entries)))
        for entry in self.entries:
            entry.write(w)
        return w.getvalue()

    def to_bytes(self) -> bytes:
        """The history bundle's bytes: magic, body, signature, the sharer's member proof."""
        return self.sharer.write(Writer(labels.MAGIC_HISTORY).raw(self.body()).raw(self.signature)).getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> HistoryBundle:
        """Parses a history bundle of at most 64 MiB and runs check(); signature, chain and keys are checked by
        ``KeyRing.accept``. Raises FormatError (E_FORMAT) naming the field."""
        r = open_reader(data, labels.MAGIC_HISTORY, "history bundle", MAX_HISTORY_BYTES)
        room_id = check_id(r.str8("room_id"), "room_id")
        sharer_id = check_id(r.str8("sharer_id"), "sharer_id")
        recipient_id = check_id(r.str8("recipient_id"), "recipient_id")
        anchor = check_epoch(r.u32("anchor_epoch"), "anchor_epoch")
        issued_at = r.u64("issued_at")
        if issued_at > MAX_ISSUED_AT:
            raise FormatError("issued_at", f"must be from 0 to {MAX_ISSUED_AT}")
        kem = WrapKem.from_wire(r.u8("kem"))
        count = r.u32("entry_count")
        if not 1 <= count <= MAX_ENTRIES:
            raise FormatError("entry_count", f"must be from 1 to {MAX_ENTRIES}")
        entries = tuple(HistoryEntry.read(r, kem) for _ in range(count))
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        sharer = MemberProof.read(r, "sharer")
        r.end()
        history = cls(room_id, sharer_id, recipient_id, anchor, issued_at, kem, entries, signature, sharer)
        history.check()
        return history

    def check(self) -> None:
        """The structural rules a parsed history bundle obeys, for ones built in memory too. Raises FormatError
        (E_FORMAT) unless 1 to 4096 entries of this room, of consecutive epochs ending just before the anchor,
        and a sharer proof for ``sharer_id``."""
        epochs = [e.header.epoch for e in self.entries]
        if not 1 <= len(epochs) <= MAX_ENTRIES:
            raise FormatError("entry_count", f"must be from 1 to {MAX_ENTRIES}")
        if epochs != list(range(self.anchor_epoch - len(epochs), self.anchor_epoch)):
            raise FormatError("entries", "epochs must be consecutive and end just before the anchor epoch")
        if any(e.header.room_id != self.room_id for e in self.entries):
            raise FormatError("entry.header", "is another room's")
        if self.sharer.entry.participant_id != self.sharer_id:
            raise FormatError("sharer.id", "is not the sharer")


def accept_history(owner: Identity, history: HistoryBundle, held: Mapping[int, EpochRecord]) -> list[EpochRecord]:
    """The steps of spec/history.md; returns the records to commit (new or completed epochs). Raises
    NotRecipientError (E_NOT_RECIPIENT) for another recipient, UnknownKeyError (E_UNKNOWN_KEY) while the
    anchor epoch is not held, E_UNAUTHORIZED for a sharer not proved a member of it, E_BAD_KEY or E_AUTH
    for the sharer's key or signature, DowngradeError (E_DOWNGRADE) for another KEM than the anchor's, and
    E_AUTH for a broken chain, roster or wrapped key."""
    if history.recipient_id != owner.participant_id:
        raise NotRecipientError(f"this history bundle is for {history.recipient_id!r}")
    anchor = held.get(history.anchor_epoch)
    if anchor is None:
        raise UnknownKeyError(f"anchor epoch {history.anchor_epoch} is not held yet")
    _check_sharer(history, anchor)
    curves.check_ed25519_public(history.sharer.entry.ed25519, "sharer.ed25519")
    curves.verify(history.sharer.entry.ed25519, history.signature, labels.SIG_HISTORY + history.body())
    if history.kem is not anchor.header.kem:
        raise DowngradeError("history keys must be wrapped with the anchor epoch's KEM")
    _check_chain(history.entries, anchor.header)
    return [r for r in (_entry_record(owner, history, e, held.get(e.header.epoch)) for e in history.entries) if r]


def _check_sharer(history: HistoryBundle, anchor: EpochRecord) -> None:
    proof = history.sharer
    listed = anchor.member(proof.entry.participant_id)
    if not proof.verifies(anchor.header.member_count, anchor.header.root) or (
            listed is not None and not hmac.compare_digest(listed.fingerprint, proof.entry.fingerprint)):
        raise UnauthorizedError(f"{history.sharer_id!r} is not proved a member of epoch {history.anchor_epoch}")


def _check_chain(entries: Sequence[HistoryEntry], anchor: EpochHeader) -> None:
    following = anchor
    for entry in reversed(entries):
        if not hmac.compare_digest(entry.header.epoch_hash(), following.previous):
            raise AuthenticationError()
        following = entry.header


def _entry_record(owner: Identity, history: HistoryBundle, entry: HistoryEntry,
                  mine: EpochRecord | None) -> EpochRecord | None:
    header = entry.header
    key, roster = None, {}
    if entry.wrapped:
        root = merkle.Tree([m.leaf() for m in entry.roster]).root
        if not hmac.compare_digest(root, header.root):
            raise AuthenticationError()
        key = unwrap(owner, entry.wrapped, kem=history.kem, suite=header.suite, room_id=header.room_id,
                     epoch=header.epoch, key_id=header.key_id, label=labels.INFO_HISTORY_WRAP)
        roster = {m.participant_id: m for m in entry.roster}
    if mine is None:
        return EpochRecord(header, entry.header_bytes, None, None, None, key, roster, bool(entry.wrapped), "history")
    gains_key, gains_roster = mine.key is None and key is not None, not mine.complete and bool(entry.wrapped)
    if not (gains_key or gains_roster):
        return None
    return EpochRecord(mine.header, mine.header_bytes, mine.signature, mine.authority, mine.rotator,
                       key if gains_key else mine.key, roster if gains_roster else mine.roster,
                       mine.complete or gains_roster, mine.source, mine.messages)


@dataclass(frozen=True)
class SharedEpoch:
    """What a sharer shares of one past epoch: its header, and its key and roster unless link-only."""

    header_bytes: bytes
    key: RoomKey | None
    roster: tuple[RosterEntry, ...]


def build_history(sharer: Identity, recipient: PublicIdentity, shared: Sequence[SharedEpoch], *, room_id: str,
                  anchor_epoch: int, kem: WrapKem, issued_at: int, sharer_proof: MemberProof) -> HistoryBundle:
    """A signed history bundle for ``recipient``; ``shared`` is consecutive epochs ending at
    ``anchor_epoch - 1``, oldest first, each key wrapped with the history label. Raises FormatError
    (E_FORMAT) if they are not, and InvalidKeyError (E_BAD_KEY) from wrapping."""
    wrapped = [b"" if s.key is None else wrap(s.key, recipient, kem, labels.INFO_HISTORY_WRAP) for s in shared]
    history = assemble_history(sharer, recipient, shared, wrapped, room_id=room_id, anchor_epoch=anchor_epoch,
                               kem=kem, issued_at=issued_at, sharer_proof=sharer_proof)
    history.check()
    return history


def assemble_history(sharer: Identity, recipient: PublicIdentity, shared: Sequence[SharedEpoch],
                     wrapped: Sequence[bytes], *, room_id: str, anchor_epoch: int, kem: WrapKem, issued_at: int,
                     sharer_proof: MemberProof) -> HistoryBundle:
    """Builds and signs, given each epoch's wrapped key (empty: link only); does not run check()."""
    entries = tuple(HistoryEntry(s.header_bytes, EpochHeader.from_bytes(s.header_bytes), w,
                                 tuple(sorted(s.roster, key=lambda m: m.participant_id.encode())) if w else ())
                    for s, w in zip(shared, wrapped, strict=True))
    unsigned = HistoryBundle(room_id, sharer.participant_id, recipient.participant_id, anchor_epoch, issued_at, kem,
                             entries, b"", sharer_proof)
    signed = HistoryBundle(room_id, sharer.participant_id, recipient.participant_id, anchor_epoch, issued_at, kem,
                           entries, sharer.sign(labels.SIG_HISTORY + unsigned.body()), sharer_proof)
    return signed
