"""What a key backup chunk holds, inside its encryption (spec/backup.md, "Entries"): one entry per
held epoch, as the uploading device accepted it.

An entry is the epoch's announcement (signed header, rotator proof, rotator's device list), or its bare
header for an epoch learnt from history (vouched for by the next epoch's hash), with the room key if the
device held one. Nothing here is trusted: restore.py verifies every entry against the signed chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ..encoding import Reader, Writer, check_epoch, check_id
from ..errors import FormatError
from ..group.bundle import MAX_SLICE_BYTES, Announcement
from ..group.epoch import EpochRecord
from ..group.header import EpochHeader

SIGNED: Final = 1
CHAINED: Final = 2
MAX_ENTRIES: Final = 4096
SECRET_SIZE: Final = 32


@dataclass(frozen=True)
class BackupEntry:
    """One epoch: its announcement (``signed``) or header (``chained``), and the room key secret or None."""

    room_id: str
    epoch: int
    kind: int
    data: bytes
    secret: bytes | None

    def header(self) -> EpochHeader:
        """The epoch's header, from the announcement or the bare header. Raises FormatError (E_FORMAT)."""
        if self.kind == SIGNED:
            return Announcement.from_bytes(self.data).header
        return EpochHeader.from_bytes(self.data)

    def write(self, w: Writer) -> None:
        """Appends the entry's bytes."""
        w.str8(self.room_id).u32(self.epoch).u8(self.kind).u32(len(self.data)).raw(self.data)
        if self.secret is None:
            w.u8(0)
        else:
            w.u8(1).raw(self.secret)

    @classmethod
    def read(cls, r: Reader) -> BackupEntry:
        """Reads one entry, checking its structure only. Raises FormatError (E_FORMAT) naming the field."""
        room_id = check_id(r.str8("entry.room_id"), "entry.room_id")
        epoch = check_epoch(r.u32("entry.epoch"), "entry.epoch")
        kind = r.u8("entry.kind")
        if kind not in (SIGNED, CHAINED):
            raise FormatError("entry.kind", "must be 1 (signed) or 2 (chained)")
        size = r.u32("entry.data")
        if size > MAX_SLICE_BYTES:
            raise FormatError("entry.data", f"at most {MAX_SLICE_BYTES} bytes")
        data = r.raw(size, "entry.data")
        present = r.u8("entry.key")
        if present not in (0, 1):
            raise FormatError("entry.key", "presence byte must be 0 or 1")
        return cls(room_id, epoch, kind, data, r.raw(SECRET_SIZE, "entry.secret") if present else None)

    @classmethod
    def of(cls, room_id: str, record: EpochRecord) -> BackupEntry:
        """The entry of a held epoch record."""
        announcement = record.announcement()
        secret = None if record.key is None else bytes(record.key)
        if announcement is None:
            return cls(room_id, record.epoch, CHAINED, record.header_bytes, secret)
        return cls(room_id, record.epoch, SIGNED, announcement, secret)


def write_entries(entries: Iterable[BackupEntry]) -> bytes:
    """The plaintext of a chunk: u32(count) and the entries. Raises FormatError for 0 or over 4096 entries."""
    entries = list(entries)
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise FormatError("entries", f"a chunk holds 1 to {MAX_ENTRIES} entries")
    w = Writer().u32(len(entries))
    for entry in entries:
        entry.write(w)
    return w.getvalue()


def read_entries(plaintext: bytes) -> list[BackupEntry]:
    """Parses a chunk's plaintext. Raises FormatError (E_FORMAT) naming the field."""
    r = Reader(plaintext)
    count = r.u32("entries.count")
    if not 1 <= count <= MAX_ENTRIES:
        raise FormatError("entries.count", f"must be 1 to {MAX_ENTRIES}")
    entries = [BackupEntry.read(r) for _ in range(count)]
    r.end()
    return entries
