"""The store's SQLite schema as one versioned constant, and the check run on every open.

``SCHEMA_VERSION`` is written to ``PRAGMA user_version``. A database at version 0 is new and gets the
schema; one at a version this library knows is migrated up (``MIGRATIONS``); one at a newer version
is refused, so an old server never writes rows a newer schema's invariants do not expect.
Error codes: E_FORMAT (a newer or unknown schema), E_IO (SQLite itself failed).
"""

from __future__ import annotations

import sqlite3
from typing import Final

from ..storage.errors import FileError

SCHEMA_VERSION: Final = 1

# Every table is keyed by what a query selects on; bodies are the exact bytes clients sent.
SCHEMA: Final = """
CREATE TABLE rooms (
    room_id   TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL CHECK (last_seq >= 0)
) WITHOUT ROWID;

CREATE TABLE bundles (
    bundle_id     INTEGER PRIMARY KEY,
    room_id       TEXT NOT NULL REFERENCES rooms (room_id),
    epoch         INTEGER NOT NULL CHECK (epoch >= 1),
    header_hash   BLOB NOT NULL CHECK (length(header_hash) = 32),
    key_id        BLOB NOT NULL CHECK (length(key_id) = 32),
    seq           INTEGER NOT NULL,
    on_chain      INTEGER NOT NULL CHECK (on_chain IN (0, 1)),
    rotator_id    TEXT NOT NULL,
    member_count  INTEGER NOT NULL,
    header        BLOB NOT NULL,
    body          BLOB NOT NULL,
    announcement  BLOB NOT NULL,
    UNIQUE (room_id, epoch, header_hash),
    UNIQUE (room_id, seq)
);
CREATE UNIQUE INDEX bundles_chain ON bundles (room_id, epoch) WHERE on_chain = 1;

CREATE TABLE bundle_members (
    participant_id  TEXT NOT NULL,
    bundle_id       INTEGER NOT NULL REFERENCES bundles (bundle_id),
    ed25519         BLOB NOT NULL CHECK (length(ed25519) = 32),
    PRIMARY KEY (participant_id, bundle_id)
) WITHOUT ROWID;
CREATE INDEX bundle_members_by_bundle ON bundle_members (bundle_id, participant_id);

CREATE TABLE messages (
    room_id     TEXT NOT NULL REFERENCES rooms (room_id),
    seq         INTEGER NOT NULL,
    epoch       INTEGER NOT NULL,
    sender_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    digest      BLOB NOT NULL CHECK (length(digest) = 32),
    body        BLOB NOT NULL,
    PRIMARY KEY (room_id, seq),
    UNIQUE (room_id, digest)
) WITHOUT ROWID;
CREATE INDEX messages_by_epoch ON messages (room_id, epoch, seq);

CREATE TABLE member_proofs (
    bundle_id       INTEGER NOT NULL REFERENCES bundles (bundle_id),
    participant_id  TEXT NOT NULL,
    body            BLOB NOT NULL,
    PRIMARY KEY (bundle_id, participant_id)
) WITHOUT ROWID;

CREATE TABLE histories (
    history_id    INTEGER PRIMARY KEY,
    room_id       TEXT NOT NULL REFERENCES rooms (room_id),
    recipient_id  TEXT NOT NULL,
    sharer_id     TEXT NOT NULL,
    anchor_epoch  INTEGER NOT NULL,
    digest        BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
    body          BLOB NOT NULL
);
CREATE INDEX histories_by_recipient ON histories (recipient_id, room_id, history_id);

CREATE TABLE device_lists (
    user_id  TEXT NOT NULL,
    version  INTEGER NOT NULL CHECK (version >= 0),
    blob     BLOB NOT NULL,
    PRIMARY KEY (user_id, version)
) WITHOUT ROWID;

CREATE TABLE backup_chunks (
    user_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    blob       BLOB NOT NULL,
    PRIMARY KEY (user_id, device_id, seq)
) WITHOUT ROWID;
"""

# version -> the statements that bring a database from version - 1 to it (none yet: version 1 is the first).
MIGRATIONS: Final[dict[int, str]] = {}


def prepare(connection: sqlite3.Connection, path: str) -> None:
    """WAL, foreign keys, and the schema at ``SCHEMA_VERSION``. Raises FileError with code E_FORMAT for a
    database written by a newer version (or a version with no migration), E_IO if SQLite fails."""
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 5000")
        if path != ":memory:":
            connection.execute("PRAGMA journal_mode = WAL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise FileError(path, f"store schema version {version} is newer than this library's {SCHEMA_VERSION}",
                            hint="upgrade domvia-e2ee; an older server must not write to a newer store")
        if version == SCHEMA_VERSION:
            return
        missing = [v for v in range(version + 1, SCHEMA_VERSION + 1) if version and v not in MIGRATIONS]
        if missing:
            raise FileError(path, f"no migration from store schema version {version}")
        steps = [SCHEMA] if version == 0 else [MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1)]
        # executescript commits first; the BEGIN inside makes the DDL and the version one transaction.
        connection.executescript("BEGIN IMMEDIATE;\n" + "\n".join(steps)
                                 + f"\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")
    except sqlite3.Error as error:
        raise FileError(path, f"SQLite: {error}", code="E_IO") from None
