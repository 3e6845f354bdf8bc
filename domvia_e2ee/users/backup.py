"""The key backup and sibling sharing recipe (spec/backup.md): back up what a device accepted, restore it
on a new device with the recovery key or passphrase and no other device online, or hand it to a sibling.

    chunks = back_up(ring, info, first_seq=server_count + 1)      # upload each, then ring.mark_backed_up(...)
    report = restore(new_ring, stored_chunks, info, recovery_key="DVRK-...")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import DomviaError, PolicyError, UnauthorizedError
from ..group.epoch import EpochRecord
from ..group.keyring import KeyRing
from ..identity import PublicIdentity
from .backup_chunk import BackupChunk, seal_chunk
from .backup_entries import MAX_ENTRIES, BackupEntry
from .backup_info import BackupInfo
from .device_list import DeviceList
from .restore import RestoreReport, open_chunks, verify_entries
from .user_key import device_user


@dataclass(frozen=True)
class PendingChunk:
    """A sealed chunk and the epochs it holds: call ``ring.mark_backed_up(pending)`` once the server stored it."""

    chunk: BackupChunk
    pending: list[tuple[str, EpochRecord]]


def _user_of(ring: KeyRing) -> tuple[str, DeviceList]:
    """The owner's user and that user's newest held device list. Raises PolicyError (E_POLICY) for a
    participant that is no user's device, or whose user's list is not held."""
    user_id = device_user(ring.owner.participant_id)
    newest = None if user_id is None else ring.users.newest(user_id)
    if user_id is None or newest is None or ring.users.pinned(user_id) is None:
        raise PolicyError("key backup and sharing are for users' devices whose user key and device list are held")
    return user_id, newest


def back_up(ring: KeyRing, info: BackupInfo, *, first_seq: int) -> list[PendingChunk]:
    """Every held epoch not backed up yet, sealed to the backup key of ``info`` (verified under the pinned user
    key) in chunks of at most 4096 epochs numbered from ``first_seq``. Raises PolicyError (E_POLICY) as
    _user_of, E_AUTH or E_FORMAT for an info the user did not sign."""
    user_id, _ = _user_of(ring)
    pinned = ring.users.pinned(user_id)
    assert pinned is not None
    info.verify(pinned)
    pending = ring.backup_pending()
    out: list[PendingChunk] = []
    for start in range(0, len(pending), MAX_ENTRIES):
        part = pending[start:start + MAX_ENTRIES]
        entries = [BackupEntry.of(room, record) for room, record in part]
        chunk = seal_chunk(ring.owner, user_id, first_seq + len(out), entries, backup_public=info.public,
                           recipient_key_id=info.key_id)
        out.append(PendingChunk(chunk, part))
    return out


def restore(ring: KeyRing, chunks: Iterable[bytes], info: BackupInfo, *, recovery_key: str | None = None,
            passphrase: bytes | None = None) -> RestoreReport:
    """Restores every verified epoch of the user's backup into ``ring``. Chunks from devices not on the user's
    list (or revoked before writing them) and rooms whose chain does not verify are reported, not restored.
    Raises PolicyError (E_POLICY) as _user_of, E_AUTH for an info the user did not sign or a wrong recovery key
    or passphrase, E_FORMAT for a mistyped recovery key."""
    user_id, device_list = _user_of(ring)
    pinned = ring.users.pinned(user_id)
    assert pinned is not None
    private = info.verify(pinned).secret(recovery_key=recovery_key, passphrase=passphrase).private_key()
    report = RestoreReport()
    return _restore(ring, open_chunks(chunks, ring.owner, private, device_list, report), report)


def share_with_sibling(ring: KeyRing, sibling: PublicIdentity, *, seq: int) -> list[BackupChunk]:
    """Every held epoch (keys and chain) for a sibling device: another device of the owner's user, on the user's
    newest list with this identity. Raises UnauthorizedError (E_UNAUTHORIZED) for anyone else."""
    user_id, device_list = _user_of(ring)
    device_list.require(sibling.participant_id, sibling.fingerprint)
    if sibling.participant_id == ring.owner.participant_id:
        raise UnauthorizedError("a device does not share with itself")
    held = [(room, ring.record(room, e)) for room in ring.rooms() for e in ring.epochs(room)]
    return [seal_chunk(ring.owner, user_id, seq + i // MAX_ENTRIES,
                       [BackupEntry.of(room, record) for room, record in held[i:i + MAX_ENTRIES]], sibling=sibling)
            for i in range(0, len(held), MAX_ENTRIES)]


def accept_sibling_share(ring: KeyRing, chunks: Iterable[bytes]) -> RestoreReport:
    """Adds what a sibling shared, verified as a restore is (the sibling on the user's list, every entry
    against the chain). Raises PolicyError (E_POLICY) as _user_of."""
    _, device_list = _user_of(ring)
    report = RestoreReport()
    return _restore(ring, open_chunks(chunks, ring.owner, None, device_list, report), report)


def _restore(ring: KeyRing, entries: list[BackupEntry], report: RestoreReport) -> RestoreReport:
    verify_entries(entries, ring.users.state(), report)
    for room_id in list(report.rooms):
        try:
            ring.accept_restored(room_id, report.rooms[room_id])
        except DomviaError as error:
            report.refused_rooms[room_id] = error.code
            del report.rooms[room_id]
    return report
