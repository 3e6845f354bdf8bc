"""ServerStore: the product server's database of ciphertext, on SQLite. It never holds a key.

Every put parses its input strictly, checks what the store can check (checks.py) and writes in one
transaction: a refused input (E_FORMAT, E_AUTH, E_UNAUTHORIZED, E_GAP, E_UNKNOWN_KEY, ...) writes
nothing. Each room has one log: bundles and messages get the next position (``seq``) when stored,
and sync (sync.py) serves a participant that log in order. SQL is parametrised everywhere.
One ServerStore is one connection for one thread; open one per thread or process (WAL mode lets
readers run beside a writer). Error codes: E_IO (FileError: SQLite failed), E_FORMAT (also FileError
for a store of a newer schema), and those of the puts.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .. import labels
from ..encoding import check_epoch, check_id
from ..errors import AuthenticationError, FormatError, UnauthorizedError, UnknownKeyError
from ..group.bundle import MAX_BUNDLE_BYTES, Bundle
from ..group.header import EpochHeader
from ..group.history import HistoryBundle
from ..group.members import MemberProofFile
from ..hazmat import curves
from ..message import SealedMessage
from . import blobs, sync
from .checks import check_bundle_alone, check_message_signature, place

BUNDLE_CACHE: Final = 16  # parsed bundles kept for slices and proofs: a sync burst asks the same few


@dataclass(frozen=True)
class StoredBundle:
    """Where a bundle went: its room, epoch, log position, and whether it is on the room's chain (else
    it is a second header for its epoch, kept and served as fork evidence)."""

    room_id: str
    epoch: int
    seq: int
    on_chain: bool


class ServerStore(blobs.BlobTables):
    """The store at ``path`` (":memory:" for a private in-memory one). Raises FileError: E_IO if SQLite
    cannot open it, E_FORMAT for a schema newer than this library's."""

    def __init__(self, path: str | Path, *, max_bundle_bytes: int = MAX_BUNDLE_BYTES) -> None:
        super().__init__(path)
        self.max_bundle_bytes = max_bundle_bytes
        self._bundles: OrderedDict[int, Bundle] = OrderedDict()

    @staticmethod
    def _next_seq(db: sqlite3.Connection, room_id: str) -> int:
        db.execute("INSERT OR IGNORE INTO rooms (room_id, last_seq) VALUES (?, 0)", (room_id,))
        db.execute("UPDATE rooms SET last_seq = last_seq + 1 WHERE room_id = ?", (room_id,))
        return int(db.execute("SELECT last_seq FROM rooms WHERE room_id = ?", (room_id,)).fetchone()[0])

    # -- bundles ------------------------------------------------------------------------------

    def put_bundle(self, data: bytes) -> StoredBundle:
        """Stores a bundle (again: the same place, nothing written). Raises FormatError (E_FORMAT) for a
        malformed or oversized one, and what checks.py raises: E_UNAUTHORIZED, E_BAD_KEY, E_AUTH, E_GAP."""
        if not isinstance(data, bytes | bytearray | memoryview) or len(data) > self.max_bundle_bytes:
            raise FormatError("bundle", f"must be the bytes of a bundle of at most {self.max_bundle_bytes} bytes")
        bundle = Bundle.from_bytes(bytes(data))
        check_bundle_alone(bundle)
        header = bundle.header
        header_hash = header.epoch_hash()
        with self._write() as db:
            known = db.execute("SELECT seq, on_chain FROM bundles WHERE room_id = ? AND epoch = ? AND header_hash = ?",
                               (header.room_id, header.epoch, header_hash)).fetchone()
            if known is not None:
                return StoredBundle(header.room_id, header.epoch, known[0], bool(known[1]))
            before = self._chain_row(header.room_id, header.epoch - 1)
            now = self._chain_row(header.room_id, header.epoch)
            index = bundle.index_of(header.rotator_id)
            assert index is not None  # check_bundle_alone: the rotator is listed
            placement = place(header, bundle.members[index].entry.fingerprint,
                              None if before is None else EpochHeader.from_bytes(before[1]),
                              None if now is None else EpochHeader.from_bytes(now[1]),
                              lambda who: before is not None and self._is_member(who, before[0]))
            seq = self._next_seq(db, header.room_id)
            cursor = db.execute(
                "INSERT INTO bundles (room_id, epoch, header_hash, key_id, seq, on_chain, rotator_id, member_count,"
                " header, body, announcement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (header.room_id, header.epoch, header_hash, header.key_id, seq, int(placement.on_chain),
                 header.rotator_id, header.member_count, header.to_bytes(), bytes(data),
                 bundle.announcement().to_bytes()))
            db.executemany("INSERT INTO bundle_members (participant_id, bundle_id, ed25519) VALUES (?, ?, ?)",
                           [(m.participant_id, cursor.lastrowid, m.entry.ed25519) for m in bundle.members])
        return StoredBundle(header.room_id, header.epoch, seq, placement.on_chain)

    def _chain_row(self, room_id: str, epoch: int) -> tuple[int, bytes] | None:
        row = self._db.execute("SELECT bundle_id, header FROM bundles WHERE room_id = ? AND epoch = ? AND on_chain = 1",
                               (room_id, epoch)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def _is_member(self, participant_id: str, bundle_id: int) -> bool:
        return self._db.execute("SELECT 1 FROM bundle_members WHERE participant_id = ? AND bundle_id = ?",
                                (participant_id, bundle_id)).fetchone() is not None

    def _bundle(self, bundle_id: int) -> Bundle:
        bundle = self._bundles.get(bundle_id)
        if bundle is None:
            (body,) = self._query("SELECT body FROM bundles WHERE bundle_id = ?", (bundle_id,))[0]
            assert isinstance(body, bytes)
            bundle = self._bundles[bundle_id] = Bundle.from_bytes(body)
            if len(self._bundles) > BUNDLE_CACHE:
                self._bundles.popitem(last=False)
        self._bundles.move_to_end(bundle_id)
        return bundle

    def chain_bundle(self, room_id: str, epoch: int) -> bytes | None:
        """The bundle of an epoch on the room's chain, or None if not stored."""
        row = self._chain_row(room_id, epoch)
        return None if row is None else self._bundle(row[0]).to_bytes()

    def slice_for(self, room_id: str, epoch: int, participant_id: str) -> bytes | None:
        """A member's slice of an epoch on the chain, derived from the bundle; None if not stored or not a member."""
        row = self._chain_row(room_id, epoch)
        if row is None or not self._is_member(participant_id, row[0]):
            return None
        return self._bundle(row[0]).slice_for(participant_id).to_bytes()

    def announcement(self, room_id: str, epoch: int) -> bytes | None:
        """The announcement of an epoch on the chain (for non-members), or None if not stored."""
        rows = self._query("SELECT announcement FROM bundles WHERE room_id = ? AND epoch = ? AND on_chain = 1",
                           (room_id, epoch))
        return bytes(rows[0][0]) if rows else None

    def headers(self, room_id: str, epoch: int) -> list[bytes]:
        """The announcements of every header stored for an epoch, the chain's first: more than one is a fork."""
        rows = self._query("SELECT announcement FROM bundles WHERE room_id = ? AND epoch = ? ORDER BY on_chain DESC, seq",
                           (room_id, epoch))
        return [bytes(r[0]) for r in rows]

    def latest_epoch(self, room_id: str) -> int | None:
        """The newest epoch on the room's chain, or None for a room not stored."""
        rows = self._query("SELECT max(epoch) FROM bundles WHERE room_id = ? AND on_chain = 1", (room_id,))
        return None if rows[0][0] is None else int(rows[0][0])

    # -- member proofs ------------------------------------------------------------------------

    def member_proof(self, room_id: str, epoch: int, participant_id: str) -> bytes | None:
        """A member's proof file (DVP) of an epoch on the chain, stored or derived from the bundle (and then
        stored); None if not stored or not a member."""
        row = self._chain_row(room_id, epoch)
        if row is None:
            return None
        stored = self._query("SELECT body FROM member_proofs WHERE bundle_id = ? AND participant_id = ?",
                             (row[0], participant_id))
        if stored:
            return bytes(stored[0][0])
        if not self._is_member(participant_id, row[0]):
            return None
        proof = self._bundle(row[0]).proof_file_for(participant_id).to_bytes()
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO member_proofs (bundle_id, participant_id, body) VALUES (?, ?, ?)",
                       (row[0], participant_id, proof))
        return proof

    def put_member_proof(self, data: bytes) -> None:
        """Stores a member proof file for an epoch on the chain. Raises FormatError (E_FORMAT) for a malformed
        one, UnknownKeyError (E_UNKNOWN_KEY) for an epoch not stored, AuthenticationError (E_AUTH) for a proof
        that does not verify against the epoch's root."""
        item = MemberProofFile.from_bytes(data)
        with self._write() as db:
            row = self._chain_row(item.room_id, item.epoch)
            if row is None:
                raise UnknownKeyError(f"epoch {item.epoch} of room {item.room_id!r} is not stored")
            header = EpochHeader.from_bytes(row[1])
            if not item.proof.verifies(header.member_count, header.root):
                raise AuthenticationError()
            db.execute("INSERT OR IGNORE INTO member_proofs (bundle_id, participant_id, body) VALUES (?, ?, ?)",
                       (row[0], item.proof.entry.participant_id, bytes(data)))

    # -- messages -----------------------------------------------------------------------------

    def put_message(self, data: bytes | str) -> int:
        """Stores a sealed message (binary or JSON; kept binary) and returns its log position (the same one for
        the same bytes again). Raises FormatError (E_FORMAT), UnknownKeyError (E_UNKNOWN_KEY) for an epoch or key
        id not stored, UnauthorizedError (E_UNAUTHORIZED) for a sender not a member of that epoch, E_BAD_KEY or
        E_AUTH (AuthenticationError) for a signature that does not verify under the roster's key."""
        sealed = SealedMessage.parse(data)
        digest = hashlib.sha256(sealed.wire).digest()
        with self._write() as db:
            known = db.execute("SELECT seq FROM messages WHERE room_id = ? AND digest = ?",
                               (sealed.room_id, digest)).fetchone()
            if known is not None:
                return int(known[0])
            bundle_id = self._keyed_bundle(sealed)
            row = db.execute("SELECT ed25519 FROM bundle_members WHERE participant_id = ? AND bundle_id = ?",
                             (sealed.sender_id, bundle_id)).fetchone()
            if row is None:
                raise UnauthorizedError(f"{sealed.sender_id!r} is not a member of epoch {sealed.epoch}")
            check_message_signature(sealed, bytes(row[0]))
            seq = self._next_seq(db, sealed.room_id)
            db.execute("INSERT INTO messages (room_id, seq, epoch, sender_id, message_id, digest, body)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (sealed.room_id, seq, sealed.epoch, sealed.sender_id, sealed.message_id, digest, sealed.wire))
        return seq

    def _keyed_bundle(self, sealed: SealedMessage) -> int:
        rows = self._db.execute("SELECT bundle_id, key_id FROM bundles WHERE room_id = ? AND epoch = ?",
                                (sealed.room_id, sealed.epoch)).fetchall()
        for bundle_id, key_id in rows:
            if hmac.compare_digest(bytes(key_id), sealed.key_id):
                return int(bundle_id)
        raise UnknownKeyError(f"no stored epoch {sealed.epoch} of room {sealed.room_id!r} has that key id")

    def messages(self, room_id: str, *, epoch: int, after_seq: int = 0, limit: int = 500) -> list[tuple[int, bytes]]:
        """(seq, message) of one epoch after a log position, oldest first: a joiner's backfill of an epoch it
        was given in a history bundle. Raises FormatError (E_FORMAT) for a bad room id or epoch."""
        rows = self._query("SELECT seq, body FROM messages WHERE room_id = ? AND epoch = ? AND seq > ? ORDER BY seq"
                           " LIMIT ?", (check_id(room_id, "room_id"), check_epoch(epoch), after_seq, limit))
        return [(int(s), bytes(b)) for s, b in rows]

    # -- history bundles ----------------------------------------------------------------------

    def put_history(self, data: bytes) -> int:
        """Stores a history bundle for its recipient; returns its id (the same for the same bytes). Raises
        FormatError (E_FORMAT), UnknownKeyError (E_UNKNOWN_KEY) for an anchor epoch not stored,
        UnauthorizedError (E_UNAUTHORIZED) for a sharer not proved a member of it, E_BAD_KEY or
        AuthenticationError (E_AUTH) for its signature. The shared keys and chain only its recipient can check."""
        history = HistoryBundle.from_bytes(data)
        digest = hashlib.sha256(bytes(data)).digest()
        with self._write() as db:
            known = db.execute("SELECT history_id FROM histories WHERE digest = ?", (digest,)).fetchone()
            if known is not None:
                return int(known[0])
            row = self._chain_row(history.room_id, history.anchor_epoch)
            if row is None:
                raise UnknownKeyError(f"anchor epoch {history.anchor_epoch} of room {history.room_id!r} is not stored")
            anchor = EpochHeader.from_bytes(row[1])
            if not history.sharer.verifies(anchor.member_count, anchor.root):
                raise UnauthorizedError(f"{history.sharer_id!r} is not proved a member of the anchor epoch")
            curves.check_ed25519_public(history.sharer.entry.ed25519, "sharer.ed25519")
            curves.verify(history.sharer.entry.ed25519, history.signature, labels.SIG_HISTORY + history.body())
            cursor = db.execute("INSERT INTO histories (room_id, recipient_id, sharer_id, anchor_epoch, digest, body)"
                                " VALUES (?, ?, ?, ?, ?, ?)", (history.room_id, history.recipient_id,
                                                               history.sharer_id, history.anchor_epoch, digest,
                                                               bytes(data)))
        return int(cursor.lastrowid or 0)

    # -- sync ---------------------------------------------------------------------------------

    def sync(self, participant_id: str, cursor: str | bytes | None = None, *, limit: int = sync.DEFAULT_LIMIT,
             held: Mapping[str, int] | None = None) -> sync.SyncBatch:
        """What the participant is missing since ``cursor``, in an order its key ring accepts (sync.py).
        ``held`` (room to the newest epoch its key ring holds) makes the store serve again epochs the cursor
        says were served but the key ring lacks (a room it does not list: nothing held). Raises FormatError (E_FORMAT) naming the field for a bad
        cursor, participant id, limit or held epoch."""
        return sync.collect(self, participant_id, cursor, limit=limit, held=held)
