"""Two opaque tables for what other parts of the product will store: device lists and key backup chunks.

The store reads nothing inside a blob (they are encrypted or signed by clients); it only bounds their
size and keeps them under their index columns. A stored (user, version) or (user, device, seq) is
never overwritten with other bytes: a rewrite would be a silent rollback. Error codes: E_FORMAT,
E_POLICY, E_IO.
"""

from __future__ import annotations

from typing import Final

from ..encoding import check_id
from ..errors import FormatError, PolicyError
from .cursor import MAX_POSITION
from .database import Database

MAX_DEVICE_LIST_BYTES: Final = 64 << 10
MAX_BACKUP_CHUNK_BYTES: Final = 1 << 20


def _blob(blob: object, limit: int) -> bytes:
    if not isinstance(blob, bytes | bytearray | memoryview) or not 0 < len(blob) <= limit:
        raise FormatError("blob", f"must be 1 to {limit} bytes")
    return bytes(blob)


def _index(value: object, field: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_POSITION:
        raise FormatError(field, "must be a non-negative 63-bit integer")
    return value


class BlobTables(Database):
    """device_lists(user_id, version, blob) and backup_chunks(user_id, device_id, seq, blob)."""

    def _put_once(self, table: str, keys: dict[str, object], blob: bytes) -> None:
        where = " AND ".join(f"{k} = ?" for k in keys)  # column names are ours, never input
        with self._write() as db:
            row = db.execute(f"SELECT blob FROM {table} WHERE {where}", tuple(keys.values())).fetchone()  # noqa: S608
            if row is not None:
                if bytes(row[0]) != blob:
                    raise PolicyError(f"{table} already holds other bytes under {tuple(keys.values())}")
                return
            columns = ", ".join(keys)
            db.execute(f"INSERT INTO {table} ({columns}, blob) VALUES ({', '.join('?' * (len(keys) + 1))})",  # noqa: S608
                       (*keys.values(), blob))

    def put_device_list(self, user_id: str, version: int, blob: bytes) -> None:
        """Stores a user's device list at a version. Raises FormatError (E_FORMAT) for a bad id, version or size,
        PolicyError (E_POLICY) for other bytes at a stored version."""
        keys = {"user_id": check_id(user_id, "user_id"), "version": _index(version, "version")}
        self._put_once("device_lists", keys, _blob(blob, MAX_DEVICE_LIST_BYTES))

    def device_list(self, user_id: str, version: int | None = None) -> tuple[int, bytes] | None:
        """(version, blob) of a user's newest device list (or of one version); None if none. Raises FormatError
        (E_FORMAT) for a bad id or version."""
        user_id = check_id(user_id, "user_id")
        if version is None:
            rows = self._query("SELECT version, blob FROM device_lists WHERE user_id = ? ORDER BY version DESC LIMIT 1",
                               (user_id,))
        else:
            rows = self._query("SELECT version, blob FROM device_lists WHERE user_id = ? AND version = ?",
                               (user_id, _index(version, "version")))
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def put_backup_chunk(self, user_id: str, device_id: str, seq: int, blob: bytes) -> None:
        """Stores one chunk of a device's key backup. Raises FormatError (E_FORMAT) for a bad id, seq or size,
        PolicyError (E_POLICY) for other bytes at a stored seq."""
        keys = {"user_id": check_id(user_id, "user_id"), "device_id": check_id(device_id, "device_id"),
                "seq": _index(seq, "seq")}
        self._put_once("backup_chunks", keys, _blob(blob, MAX_BACKUP_CHUNK_BYTES))

    def backup_chunks(self, user_id: str, device_id: str, *, after: int = -1, limit: int = 100) -> list[tuple[int, bytes]]:
        """(seq, blob) of a device's backup chunks after ``after``, in order. Raises FormatError (E_FORMAT) for a
        bad id."""
        rows = self._query("SELECT seq, blob FROM backup_chunks WHERE user_id = ? AND device_id = ? AND seq > ?"
                           " ORDER BY seq LIMIT ?", (check_id(user_id, "user_id"), check_id(device_id, "device_id"),
                                                     after, limit))
        return [(int(s), bytes(b)) for s, b in rows]
