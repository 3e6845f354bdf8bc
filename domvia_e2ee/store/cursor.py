"""The sync cursor: where one participant is in each room, as an opaque, versioned, canonical token.

The token is compact JSON, ``{"v":1,"rooms":{ROOM:[EPOCH,SEQ,HISTORY],...}}`` with sorted keys: EPOCH the
newest epoch served to the participant, SEQ the last position of the room's log it has been walked
past, HISTORY the last history bundle id served. Clients keep it and send it back unchanged; the
server parses it strictly, so a corrupt or hand-edited token is E_FORMAT naming the field, never a
silent restart. Error codes: E_FORMAT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ..encoding import MAX_EPOCH, check_id, dumps, loads_object
from ..errors import FormatError

CURSOR_VERSION: Final = 1
MAX_CURSOR_BYTES: Final = 64 << 10
MAX_POSITION: Final = (1 << 63) - 1  # SQLite's INTEGER


@dataclass(frozen=True)
class RoomPosition:
    """One room's place: the newest epoch served, the last log position walked, the last history id served."""

    epoch: int = 0
    seq: int = 0
    history: int = 0


@dataclass(frozen=True)
class Cursor:
    """Per room, a RoomPosition. ``Cursor()`` is the start: nothing served yet."""

    rooms: dict[str, RoomPosition] = field(default_factory=dict)

    def position(self, room_id: str) -> RoomPosition:
        """The room's position (the start for a room not in the cursor)."""
        return self.rooms.get(room_id, RoomPosition())

    def to_token(self) -> str:
        """The canonical token text."""
        rooms = {r: [p.epoch, p.seq, p.history] for r, p in self.rooms.items()}
        return dumps({"v": CURSOR_VERSION, "rooms": rooms}).decode("ascii")

    @classmethod
    def from_token(cls, token: str | bytes | None) -> Cursor:
        """Parses a token (None: the start). Raises FormatError (E_FORMAT) naming the field ("cursor",
        "cursor.v", "cursor.rooms", "cursor.rooms.ROOM") for anything but a canonical token of this version."""
        if token is None:
            return cls()
        if not isinstance(token, str | bytes):
            raise FormatError("cursor", "must be the token text a previous sync returned")
        obj = loads_object(token, "cursor", max_bytes=MAX_CURSOR_BYTES)
        if set(obj) != {"v", "rooms"}:
            raise FormatError("cursor", "must have exactly the members v and rooms")
        if type(obj["v"]) is not int or obj["v"] != CURSOR_VERSION:
            raise FormatError("cursor.v", f"unsupported cursor version (this server writes {CURSOR_VERSION})")
        if not isinstance(obj["rooms"], dict):
            raise FormatError("cursor.rooms", "must be an object")
        cursor = cls({check_id(room, "cursor.rooms"): _position(room, value) for room, value in obj["rooms"].items()})
        text = token if isinstance(token, str) else token.decode("utf-8")
        if cursor.to_token() != text:
            raise FormatError("cursor", "not in canonical form (sorted keys, no whitespace)")
        return cursor


def _position(room_id: str, value: object) -> RoomPosition:
    where = f"cursor.rooms.{room_id}"
    if not isinstance(value, list) or len(value) != 3 or any(type(v) is not int for v in value):
        raise FormatError(where, "must be [epoch, seq, history], three integers")
    epoch, seq, history = value
    if not 0 <= epoch <= MAX_EPOCH:
        raise FormatError(where, f"epoch must be from 0 to {MAX_EPOCH}")
    if not (0 <= seq <= MAX_POSITION and 0 <= history <= MAX_POSITION):
        raise FormatError(where, "positions must be non-negative 63-bit integers")
    return RoomPosition(epoch, seq, history)
