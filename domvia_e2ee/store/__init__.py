"""The reference server-side store (spec/store.md): ciphertext, bundles and proofs on SQLite, never a key.

`ServerStore` stores and serves; `ServerStore.sync` returns what a participant is missing since its
`Cursor`, as a `SyncBatch` of `SyncItem`. Modules: schema (the DDL, versioned), database (the
connection and its transactions), checks (what the store can verify), store, sync, cursor, blobs
(opaque device lists and backup chunks). Error codes: E_FORMAT, E_IO and those of the puts.
"""

from __future__ import annotations

from .cursor import Cursor, RoomPosition
from .schema import SCHEMA_VERSION
from .store import ServerStore, StoredBundle
from .sync import SyncBatch, SyncItem

__all__ = ["SCHEMA_VERSION", "Cursor", "RoomPosition", "ServerStore", "StoredBundle", "SyncBatch", "SyncItem"]
