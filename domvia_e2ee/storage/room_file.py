"""Room state files: no secret; a committed state and, while a rotation is under way, a pending one.

Loading reconciles the state with the key ring, so an interrupted rotation rolls back or forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..group.bundle import Bundle
from ..encoding import b64decode, b64encode, check_fields, check_id, dumps, get_int
from ..errors import DomviaError, FormatError
from ..group.keyring import KeyRing
from ..group.room import Room
from .errors import FileError, _refusal, _wrap
from .json_file import FILE_VERSION, MAX_STATE_BYTES, _check_owner, _load_json, _object

ROOM_STATE_FILE: Final = "domvia-e2ee room-state"
NOTHING_COMMITTED: Final = {"room": None, "bundle": None}


@dataclass
class RoomState:
    """A room loaded from its state file, the signed bundle of its current epoch, and how it was found."""

    room: Room
    bundle: bytes
    # "rolled back" or "rolled forward" when a rotation was interrupted; None otherwise.
    recovered: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """The committed part of the state file. Take it before changing the room."""
        return {"room": room_body(self.room), "bundle": b64encode(self.bundle)}


def room_body(room: Room) -> dict[str, Any]:
    """What the state file says of the room: which one and at which epoch. Members, admins and policy are
    never stored here: they come from the signed chain in the key ring, so this file cannot change them."""
    return {"room": room.room_id, "epoch": room.epoch}


def dump_room_state(room: Room, bundle: bytes, *, before: dict[str, Any] | None = None) -> bytes:
    """The state file's bytes. With `before`, that is the committed part and this room waits as "pending"."""
    public = room.keyring.owner.public
    out: dict[str, Any] = {"file": ROOM_STATE_FILE, "v": FILE_VERSION, "owner": public.participant_id,
                           "owner_fingerprint": b64encode(public.fingerprint)}
    current = {"room": room_body(room), "bundle": b64encode(bundle) if bundle else None}
    if before is None:
        out.update(current, pending=None)
    else:
        out.update(before, pending=current)
    return dumps(out) + b"\n"


def load_room_state(path: Path | str, ring: KeyRing) -> RoomState:
    """Loads the state and reconciles it with the key ring (spec/files.md, "Interrupted rotations").

    A pending state whose epoch and key id the key ring holds as its latest is rolled forward;
    otherwise the committed state is used, and it must match the key ring's latest epoch.
    """
    obj = _load_json(path, MAX_STATE_BYTES, ROOM_STATE_FILE, private=False)
    try:
        check_fields(obj, ("file", "v", "owner", "owner_fingerprint", "room", "bundle", "pending"))
        _check_owner(obj, ring.owner)
        pending = obj["pending"]
        if pending is None:
            return _room_state(obj, ring, None)
        check_fields(_object(pending, "pending"), ("room", "bundle"))
        if _held_as_latest(ring, pending):
            return _room_state(pending, ring, "rolled forward")
        return _room_state(obj, ring, "rolled back")
    except DomviaError as error:
        raise _wrap(path, error, ROOM_STATE_FILE + " file") from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FileError(path, "not a valid domvia-e2ee room-state file: malformed structure") from None


def is_interrupted_creation(path: Path | str, ring: KeyRing) -> bool:
    """True when the file is what an interrupted `room create` left: nothing committed yet."""
    try:
        load_room_state(path, ring)
    except FileError as error:
        return error.reason == _NEVER_CREATED
    return False


_NEVER_CREATED: Final = "the room was never created: its creation was interrupted"


def _held_as_latest(ring: KeyRing, part: dict[str, Any]) -> bool:
    header = Bundle.from_bytes(b64decode(part["bundle"], "pending.bundle")).header
    if ring.latest_epoch(header.room_id) != header.epoch:
        return False
    key = ring.record(header.room_id, header.epoch).key
    return key is not None and key.matches(header.key_id)


def _room_state(part: dict[str, Any], ring: KeyRing, recovered: str | None) -> RoomState:
    if part["room"] is None and part["bundle"] is None:
        raise _refusal(_NEVER_CREATED, code=FormatError.code,
                       hint="create the room again with the same state file; it replaces this one")
    body = _object(part["room"], "room")
    check_fields(body, ("room", "epoch"))
    room_id = check_id(body.get("room"), "room.room")
    held = ring.latest_epoch(room_id)
    epoch = get_int(body, "epoch")
    if held is None or held < epoch:
        raise _refusal(f"room state is at epoch {epoch} of {room_id!r} but the key ring's latest is {held}",
                       code=FormatError.code, hint="this state file and key ring do not belong together")
    if part["bundle"] is None:  # adopted from the chain (`room adopt`): this admin made no bundle yet
        return RoomState(Room(ring, room_id), b"", recovered)
    bundle = b64decode(part["bundle"], "bundle")
    header = Bundle.from_bytes(bundle).header
    key = ring.record(room_id, epoch).key
    if header.room_id != room_id or header.epoch != epoch or key is None or not key.matches(header.key_id):
        raise FormatError("bundle", "is not the signed bundle of the state's epoch")
    # The key ring may be ahead (another admin rotated): the room continues from the key ring's newest epoch.
    return RoomState(Room(ring, room_id), bundle if held == epoch else b"", recovered)
