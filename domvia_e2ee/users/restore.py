"""Restoring a key backup or a sibling's share (spec/backup.md, "Restoring"): every chunk's uploader is
a device on the user's signed list (or a revoked one, up to its last allowed chunk), and every entry is
verified against the signed chain before anything reaches the key ring.

A room whose entries do not form a verified chain is refused as a whole (and reported), so a bad chunk
from one device cannot plant an epoch, and cannot stop the other rooms from being restored.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import AuthenticationError, DomviaError, FormatError, UnauthorizedError
from ..group.epoch import EpochRecord
from ..group.lists import UserState
from ..group.verify import authorise_extend, check_downgrade
from ..identity import Identity
from ..keys import RoomKey
from .backup_chunk import BackupChunk, open_chunk
from .backup_entries import SIGNED, BackupEntry
from .device_list import DeviceList
from .restore_checks import Checked, check_all


@dataclass
class RestoreReport:
    """What a restore verified: epochs per room, keys, and what it refused (room or chunk: the error code)."""

    rooms: dict[str, list[EpochRecord]] = field(default_factory=dict)
    refused_rooms: dict[str, str] = field(default_factory=dict)
    refused_chunks: list[str] = field(default_factory=list)

    @property
    def keys(self) -> int:
        """How many epoch keys were verified."""
        return sum(r.key is not None for records in self.rooms.values() for r in records)


def check_uploader(chunk: BackupChunk, device_list: DeviceList) -> None:
    """The chunk's uploader is on the user's list, or revoked after writing it. Raises UnauthorizedError
    (E_UNAUTHORIZED) otherwise, FormatError (E_FORMAT) for another user's chunk."""
    if chunk.user_id != device_list.user_id:
        raise FormatError("user_id", f"a chunk of {chunk.user_id!r}, not of {device_list.user_id!r}")
    who = chunk.uploader
    listed = device_list.device(who.participant_id)
    if listed is not None and hmac.compare_digest(listed.fingerprint, who.fingerprint):
        return
    revoked = device_list.revocation(who.participant_id, who.fingerprint)
    if revoked is None or chunk.seq > revoked.backup_seq_limit:
        raise UnauthorizedError(f"chunk {chunk.seq} of {who.participant_id!r}: not written by a device of the list")


def open_chunks(chunks: Iterable[bytes], device: Identity, backup_private: object, device_list: DeviceList,
                report: RestoreReport) -> list[BackupEntry]:
    """The entries of every chunk whose uploader may write it and whose signature, ciphertext and entries verify;
    the others are reported in ``report.refused_chunks`` as "uploader#seq: E_CODE". A chunk for the backup key
    opens with ``backup_private`` (None: not restoring), a share with ``device``'s keys."""
    entries: list[BackupEntry] = []
    for data in chunks:
        try:
            chunk = BackupChunk.from_bytes(data)
            check_uploader(chunk, device_list)
            entries.extend(open_chunk(chunk, device, backup_private))
        except DomviaError as error:
            report.refused_chunks.append(f"{_name(data)}: {error.code}")
    return entries


def _name(data: bytes) -> str:
    try:
        chunk = BackupChunk.from_bytes(data)
    except DomviaError:
        return "(malformed)"
    return f"{chunk.uploader.participant_id}#{chunk.seq}"


def verify_entries(entries: Iterable[BackupEntry], users: UserState, report: RestoreReport) -> None:
    """Groups entries by room, merges duplicates and verifies each room's chain (verify_room). The entries'
    own checks run first, for every room at once and on two threads (restore_checks.py)."""
    rooms: dict[str, dict[int, BackupEntry]] = {}
    for entry in entries:
        held = rooms.setdefault(entry.room_id, {})
        other = held.get(entry.epoch)
        if other is None:
            held[entry.epoch] = entry
        elif other.data != entry.data and _header_bytes(other) != _header_bytes(entry):
            report.refused_rooms[entry.room_id] = "E_FORK"
        else:  # one epoch, one header: a signed copy beats a bare header, and the first key offered stays
            signed = other if other.kind == SIGNED else entry
            held[entry.epoch] = dataclasses.replace(signed, secret=other.secret if other.secret is not None
                                                    else entry.secret)
    runs = {room_id: _newest_run([by_epoch[e] for e in sorted(by_epoch)])
            for room_id, by_epoch in sorted(rooms.items()) if room_id not in report.refused_rooms}
    checked = iter(check_all([entry for run in runs.values() for entry in run], users))
    for room_id, run in runs.items():
        room = [next(checked) for _ in run]
        try:
            report.rooms[room_id] = _verify_run(room, users)
        except DomviaError as error:
            report.refused_rooms[room_id] = error.code


def _header_bytes(entry: BackupEntry) -> bytes:
    try:
        return entry.header().to_bytes()
    except DomviaError:
        return entry.data


def verify_room(entries: list[BackupEntry], users: UserState) -> list[EpochRecord]:
    """One room's newest contiguous run of entries as epoch records, each checked as bundle.md checks an
    announcement on top of the one before (the first as a join on its own admin set), bare headers
    vouched for by the next epoch's hash, and every key against its header's key id. Raises E_FORMAT,
    E_AUTH, E_UNAUTHORIZED, E_DOWNGRADE or E_BAD_KEY."""
    return _verify_run(check_all(_newest_run(entries), users), users)


def _verify_run(run: list[Checked], users: UserState) -> list[EpochRecord]:
    """The chain walk over a run whose entries were checked one by one (check_all): each entry's error is
    raised where the walk reaches it, in the order of spec/backup.md step 6."""
    if run[-1].entry.kind != SIGNED:
        raise AuthenticationError()  # nothing vouches for a bare header at the end of the chain
    records: list[EpochRecord] = []
    for checked in run:
        records.append(_record(checked, records[-1] if records else None))
    return records


def _newest_run(entries: list[BackupEntry]) -> list[BackupEntry]:
    start = len(entries) - 1
    while start > 0 and entries[start - 1].epoch == entries[start].epoch - 1:
        start -= 1
    return entries[start:]


def _record(checked: Checked, previous: EpochRecord | None) -> EpochRecord:
    entry, header = checked.entry, checked.header
    if checked.parse_error is not None:
        raise checked.parse_error
    assert header is not None
    if header.room_id != entry.room_id or header.epoch != entry.epoch:
        raise FormatError("entry", "its header is of another room or epoch")
    if previous is not None and not hmac.compare_digest(header.previous, previous.header.epoch_hash()):
        raise AuthenticationError()
    key = None if entry.secret is None else RoomKey(entry.secret, room_id=entry.room_id, epoch=entry.epoch,
                                                    suite=header.suite)
    if key is not None and not key.matches(header.key_id):
        raise AuthenticationError()
    if entry.kind != SIGNED:
        return EpochRecord(header, header.to_bytes(), None, None, None, key, {}, False, "history")
    if checked.error is not None:
        raise checked.error
    announcement, rotator, proof = checked.announcement, checked.rotator, checked.proof
    assert announcement is not None and rotator is not None and proof is not None
    if previous is None:
        if not header.is_admin(rotator.participant_id, rotator.fingerprint):
            raise UnauthorizedError(f"{rotator.participant_id!r} is not in the first restored epoch's admin set")
    else:
        authorise_extend(header, rotator, announcement.signed.authority, previous)
        check_downgrade(header, previous.header)
    return EpochRecord(header, header.to_bytes(), announcement.signed.signature, announcement.signed.authority, proof,
                       key, {rotator.participant_id: rotator}, False, "slice" if key is not None else "link", 0,
                       announcement.lists)
