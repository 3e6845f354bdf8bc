"""What a participant is missing, in an order its key ring accepts (spec/store.md, "Sync").

Per room the participant was ever a member of, the room's log is walked from the cursor: each epoch on
the chain as the participant's slice (a member of it) or the announcement (not a member), a second
header stored for an epoch as a "fork" announcement, history bundles addressed to it once their anchor
epoch has been served, and each message of an epoch it was a member of, preceded by the member proofs
its key ring needs to check the sender (in the message's epoch and, for a message of a superseded
epoch, in the newest one). Messages come in log order between the epochs, so a member that was
offline reads a message sealed before a removal before it learns of the removal. Sync writes nothing
but the member proofs it derives. Error codes: E_FORMAT (a bad cursor, id, limit or held epoch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ..encoding import MAX_EPOCH, check_id
from ..errors import FormatError
from .cursor import Cursor, RoomPosition

if TYPE_CHECKING:
    from .store import ServerStore

DEFAULT_LIMIT: Final = 500
MAX_LIMIT: Final = 10_000
KINDS: Final = ("slice", "announcement", "fork", "history", "member_proof", "message")


@dataclass(frozen=True)
class SyncItem:
    """One delivery: its kind (one of KINDS), room, log position (0 for proofs and histories), epoch, bytes."""

    kind: str
    room_id: str
    seq: int
    epoch: int
    data: bytes


@dataclass(frozen=True)
class SyncBatch:
    """The items in order, the cursor to send next time, whether the limit cut the walk (``more``), and the
    cursor the batch was asked with (``since``), so a client can drop a late duplicate of an old response."""

    items: tuple[SyncItem, ...]
    cursor: str
    more: bool
    since: str | None = None


@dataclass
class _Walk:
    """One call's state: the items so far and the room positions reached."""

    limit: int
    items: list[SyncItem] = field(default_factory=list)
    proofs: set[tuple[str, int, str]] = field(default_factory=set)
    full: bool = False

    def room_left(self) -> int:
        return self.limit - len(self.items)


def collect(store: ServerStore, participant_id: str, token: str | bytes | None, *, limit: int,
            held: Mapping[str, int] | None) -> SyncBatch:
    """ServerStore.sync. Raises FormatError (E_FORMAT) naming the field."""
    participant_id = check_id(participant_id, "participant_id")
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise FormatError("limit", f"must be from 1 to {MAX_LIMIT}")
    held = None if held is None else _check_held(held)
    cursor = Cursor.from_token(token)
    walk = _Walk(limit)
    rooms = dict(cursor.rooms)
    for room_id in _rooms_of(store, participant_id):
        if walk.room_left() <= 0:
            walk.full = True
            break
        # With held, a room it does not list is one its key ring holds nothing of (a join whose slice was lost).
        holds = None if held is None else held.get(room_id, 0)
        rooms[room_id] = _walk_room(store, walk, participant_id, room_id, cursor.position(room_id), holds)
    token_out = Cursor(rooms).to_token()
    return SyncBatch(tuple(walk.items), token_out, walk.full, None if token is None else _text(token))


def _text(token: str | bytes) -> str:
    return token if isinstance(token, str) else token.decode("utf-8")


def _check_held(held: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(held, Mapping):
        raise FormatError("held", "must map room ids to epochs")
    checked = {}
    for room_id, epoch in held.items():
        if type(epoch) is not int or not 0 <= epoch <= MAX_EPOCH:
            raise FormatError("held", f"epoch of {room_id!r} must be from 0 to {MAX_EPOCH}")
        checked[check_id(room_id, "held")] = epoch
    return checked


def _rooms_of(store: ServerStore, participant_id: str) -> list[str]:
    rows = store._query("SELECT DISTINCT b.room_id FROM bundle_members m JOIN bundles b USING (bundle_id)"
                        " WHERE m.participant_id = ? AND b.on_chain = 1 ORDER BY b.room_id", (participant_id,))
    return [str(r[0]) for r in rows]


def _member_epochs(store: ServerStore, participant_id: str, room_id: str) -> dict[int, str]:
    """Epoch on the chain the participant is a member of -> that epoch's rotator (whose proof a slice carries)."""
    rows = store._query("SELECT b.epoch, b.rotator_id FROM bundle_members m JOIN bundles b USING (bundle_id)"
                        " WHERE m.participant_id = ? AND b.room_id = ? AND b.on_chain = 1", (participant_id, room_id))
    return {int(e): str(r) for e, r in rows}


def _walk_room(store: ServerStore, walk: _Walk, participant_id: str, room_id: str, position: RoomPosition,
               held: int | None) -> RoomPosition:
    member = _member_epochs(store, participant_id, room_id)
    newest = position.epoch if held is None else held
    first = max(newest + 1, min(member))
    state = _RoomState(store, walk, participant_id, room_id, member, newest, position.history)
    # Epochs the cursor says were served but the key ring lacks (a lost or withheld delivery) come first:
    # everything after the cursor's position in the log is newer than them.
    for seq, bundle_id, epoch in store._query(
            "SELECT seq, bundle_id, epoch FROM bundles WHERE room_id = ? AND on_chain = 1 AND epoch >= ? AND seq <= ?"
            " ORDER BY epoch", (room_id, first, position.seq)):
        if not state.epoch_item(int(seq), int(bundle_id), int(epoch)):
            return RoomPosition(state.newest, position.seq, state.history)
    state.histories()
    last = position.seq
    # One entry more than fits: it does not fit, which tells the walk that the limit cut it.
    for seq, kind, ref, epoch, sender in _log_after(store, participant_id, room_id, position.seq, first,
                                                    walk.room_left() + 1):
        if kind == "b":
            done = state.epoch_item(seq, ref, epoch)
        elif kind == "f":
            done = state.add(SyncItem("fork", room_id, seq, epoch, _announcement(store, ref)))
        else:
            done = state.message_item(seq, epoch, sender)
        if not done:
            return RoomPosition(state.newest, last, state.history)
        last = seq
    return RoomPosition(state.newest, last, state.history)


def _log_after(store: ServerStore, participant_id: str, room_id: str, after: int, first: int,
               limit: int) -> list[tuple[int, str, int, int, str]]:
    """The room's log after a position: chain epochs from ``first`` on ("b"), other headers ("f") and the
    messages of the participant's epochs ("m", with the message's seq as ref), in log order."""
    rows = store._query(
        "SELECT seq, CASE on_chain WHEN 1 THEN 'b' ELSE 'f' END, bundle_id, epoch, '' FROM bundles"
        " WHERE room_id = ? AND seq > ? AND (epoch >= ? OR on_chain = 0)"
        " UNION ALL SELECT seq, 'm', seq, epoch, sender_id FROM messages WHERE room_id = ? AND seq > ? AND epoch IN"
        " (SELECT b.epoch FROM bundle_members m JOIN bundles b USING (bundle_id)"
        "  WHERE m.participant_id = ? AND b.room_id = ? AND b.on_chain = 1)"
        " ORDER BY 1 LIMIT ?", (room_id, after, first, room_id, after, participant_id, room_id, limit))
    return [(int(s), str(k), int(r), int(e), str(u)) for s, k, r, e, u in rows]


def _announcement(store: ServerStore, bundle_id: int) -> bytes:
    return bytes(store._query("SELECT announcement FROM bundles WHERE bundle_id = ?", (bundle_id,))[0][0])


@dataclass
class _RoomState:
    """The walk through one room: what the participant will hold after the items emitted so far."""

    store: ServerStore
    walk: _Walk
    participant_id: str
    room_id: str
    member: dict[int, str]
    newest: int
    history: int

    def add(self, *items: SyncItem) -> bool:
        """Appends the items of one log entry, unless they would pass the limit (then the walk is full)."""
        if self.walk.items and len(items) > self.walk.room_left():
            self.walk.full = True
            return False
        self.walk.items.extend(items)
        return True

    def epoch_item(self, seq: int, bundle_id: int, epoch: int) -> bool:
        if epoch in self.member:
            data = self.store._bundle(bundle_id).slice_for(self.participant_id).to_bytes()
            item = SyncItem("slice", self.room_id, seq, epoch, data)
        else:
            item = SyncItem("announcement", self.room_id, seq, epoch, _announcement(self.store, bundle_id))
        if not self.add(item):
            return False
        self.newest = max(self.newest, epoch)
        self.histories()
        return True

    def histories(self) -> None:
        """History bundles for the participant whose anchor epoch it holds by now, oldest first; the first
        one whose anchor is still ahead waits, with every later one."""
        for history_id, anchor, body in self.store._query(
                "SELECT history_id, anchor_epoch, body FROM histories WHERE recipient_id = ? AND room_id = ?"
                " AND history_id > ? ORDER BY history_id", (self.participant_id, self.room_id, self.history)):
            if anchor > self.newest or not self.add(SyncItem("history", self.room_id, 0, int(anchor), bytes(body))):
                return
            self.history = int(history_id)

    def message_item(self, seq: int, epoch: int, sender_id: str) -> bool:
        proofs = [self._proof(sender_id, e) for e in sorted({epoch, self.newest}) if e >= epoch]
        items = [p for p in proofs if p is not None]
        body = self.store._query("SELECT body FROM messages WHERE room_id = ? AND seq = ?", (self.room_id, seq))
        items.append(SyncItem("message", self.room_id, seq, epoch, bytes(body[0][0])))
        if not self.add(*items):
            return False
        self.walk.proofs.update((self.room_id, i.epoch, sender_id) for i in items if i.kind == "member_proof")
        return True

    def _proof(self, sender_id: str, epoch: int) -> SyncItem | None:
        """The sender's proof of an epoch, unless the participant's slice already lists it (itself, the
        rotator), this batch carries it already, or the participant holds that epoch as a link only."""
        if (sender_id == self.participant_id or self.member.get(epoch, sender_id) == sender_id
                or (self.room_id, epoch, sender_id) in self.walk.proofs):
            return None
        data = self.store.member_proof(self.room_id, epoch, sender_id)
        return None if data is None else SyncItem("member_proof", self.room_id, 0, epoch, data)
