"""History bundles: past epoch keys wrapped to one joiner, on purpose (spec/history.md).

Joining rotates, so a joiner reads nothing from before unless a member chooses to share.
The whole bundle is signed by the sharer; its authority is a membership proof in an epoch
the joiner already holds (the epoch it joined in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from . import labels
from .bundle import MembershipProof, _open_reader, _write_proof
from .encoding import Reader, Writer, check_epoch, check_id
from .errors import FormatError
from .hazmat import curves
from .hazmat.suites import Suite
from .identity import Identity, PublicIdentity
from .keys import KEY_ID_SIZE, RoomKey
from .wrap import WrapKem, wrap

MAX_ENTRIES: Final = 4096
MAX_HISTORY_BYTES: Final = 64 << 20


@dataclass(frozen=True)
class HistoryEntry:
    """One past epoch: its key wrapped to the recipient, and who was a member then."""

    epoch: int
    suite: Suite
    key_id: bytes
    wrapped: bytes
    roster: tuple[tuple[str, bytes], ...]

    def write(self, w: Writer) -> None:
        w.u32(self.epoch).u8(self.suite).raw(self.key_id).bytes16(self.wrapped).u32(len(self.roster))
        for participant_id, fingerprint in self.roster:
            w.str8(participant_id).raw(fingerprint)

    @classmethod
    def read(cls, r: Reader, kem: WrapKem) -> HistoryEntry:
        epoch = check_epoch(r.u32("entry.epoch"), "entry.epoch")
        suite = Suite.from_wire(r.u8("entry.suite"), "entry.suite")
        key_id = r.raw(KEY_ID_SIZE, "entry.key_id")
        wrapped = r.bytes16("entry.wrapped_key")
        if len(wrapped) != kem.wrapped_size:
            raise FormatError("entry.wrapped_key", f"must be {kem.wrapped_size} bytes")
        count = r.u32("entry.roster")
        if count > 100_000:
            raise FormatError("entry.roster", "too many members")
        roster = tuple((check_id(r.str8("entry.roster.id"), "entry.roster.id"), r.raw(32, "entry.roster.fingerprint"))
                       for _ in range(count))
        if [p for p, _ in roster] != sorted({p for p, _ in roster}, key=str.encode):
            raise FormatError("entry.roster", "must be sorted by id with no duplicates")
        return cls(epoch, suite, key_id, wrapped, roster)


@dataclass(frozen=True)
class HistoryBundle:
    room_id: str
    sharer_id: str
    recipient_id: str
    anchor_epoch: int
    issued_at: int
    kem: WrapKem
    entries: tuple[HistoryEntry, ...]
    signature: bytes
    proof: MembershipProof | None

    def body(self) -> bytes:
        return _body(self.room_id, self.sharer_id, self.recipient_id, self.anchor_epoch, self.issued_at,
                     self.kem, self.entries)

    def to_bytes(self) -> bytes:
        w = Writer(labels.MAGIC_HISTORY).raw(self.body()).raw(self.signature)
        _write_proof(w, self.proof)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> HistoryBundle:
        r = _open_reader(data, labels.MAGIC_HISTORY, "history bundle", MAX_HISTORY_BYTES)
        room_id = check_id(r.str8("room_id"), "room_id")
        sharer_id = check_id(r.str8("sharer_id"), "sharer_id")
        recipient_id = check_id(r.str8("recipient_id"), "recipient_id")
        anchor = check_epoch(r.u32("anchor_epoch"), "anchor_epoch")
        issued_at = r.u64("issued_at")
        kem = WrapKem.from_wire(r.u8("kem"))
        count = r.u32("entry_count")
        if not 1 <= count <= MAX_ENTRIES:
            raise FormatError("entry_count", f"must be from 1 to {MAX_ENTRIES}")
        entries = tuple(HistoryEntry.read(r, kem) for _ in range(count))
        signature = r.raw(curves.SIGNATURE_SIZE, "signature")
        proof = MembershipProof.read_optional(r)
        r.end()
        history = cls(room_id, sharer_id, recipient_id, anchor, issued_at, kem, entries, signature, proof)
        history.check()
        return history

    def check(self) -> None:
        """The structural rules a parsed history bundle obeys, for ones built in memory too."""
        epochs = [e.epoch for e in self.entries]
        if not 1 <= len(epochs) <= MAX_ENTRIES:
            raise FormatError("entry_count", f"must be from 1 to {MAX_ENTRIES}")
        if epochs != sorted(set(epochs)) or epochs[-1] >= self.anchor_epoch:
            raise FormatError("entries", "epochs must increase and precede the anchor epoch")


def _body(room_id: str, sharer_id: str, recipient_id: str, anchor_epoch: int, issued_at: int, kem: WrapKem,
          entries: Sequence[HistoryEntry]) -> bytes:
    w = Writer().str8(room_id).str8(sharer_id).str8(recipient_id).u32(anchor_epoch).u64(issued_at)
    w.u8(kem).u32(len(entries))
    for entry in entries:
        entry.write(w)
    return w.getvalue()


def build_history(sharer: Identity, recipient: PublicIdentity, keys: Sequence[tuple[RoomKey, Sequence[tuple[str, bytes]]]],
                  *, anchor_epoch: int, kem: WrapKem, issued_at: int,
                  proof: MembershipProof | None) -> HistoryBundle:
    """keys: (past room key, its roster of (id, fingerprint)) for each epoch to share."""
    ordered = sorted(keys, key=lambda item: item[0].epoch)
    wrapped = [wrap(k, recipient, kem, labels.INFO_HISTORY_WRAP) for k, _ in ordered]
    return _assemble(sharer, recipient, ordered, wrapped, anchor_epoch=anchor_epoch, kem=kem,
                     issued_at=issued_at, proof=proof)


def _assemble(sharer: Identity, recipient: PublicIdentity,
              ordered: Sequence[tuple[RoomKey, Sequence[tuple[str, bytes]]]], wrapped: Sequence[bytes], *,
              anchor_epoch: int, kem: WrapKem, issued_at: int, proof: MembershipProof | None) -> HistoryBundle:
    """Signs a history bundle, given the entries sorted by epoch and their wrapped keys."""
    if len({k.room_id for k, _ in ordered}) != 1:
        raise ValueError("a history bundle shares epochs of one room")
    entries = tuple(HistoryEntry(k.epoch, k.suite, k.key_id, w, tuple(sorted(roster, key=lambda m: m[0].encode())))
                    for (k, roster), w in zip(ordered, wrapped, strict=True))
    room_id = ordered[0][0].room_id
    body = _body(room_id, sharer.participant_id, recipient.participant_id, anchor_epoch, issued_at, kem, entries)
    return HistoryBundle(room_id, sharer.participant_id, recipient.participant_id, anchor_epoch, issued_at, kem,
                         entries, sharer.sign(labels.SIG_HISTORY + body), proof)
