"""The key ring's plaintext export form (spec/keyring.md). Encryption at rest is the storage package's job.

Loading is strict and all-or-nothing: a bad field raises FormatError naming it, and no
KeyRing is returned half-built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bundle import MAX_MEMBERS
from .encoding import b64decode, b64encode, check_epoch, check_fields, check_id, get_int, get_str
from .epoch import EpochRecord
from .errors import FormatError
from .hazmat.suites import Suite
from .identity import Identity, PublicIdentity
from .keys import MAX_MESSAGES_PER_SENDER, RoomKey
from .wrap import WrapKem

if TYPE_CHECKING:
    from .keyring import KeyRing

VERSION = 1
SOURCES = ("bundle", "slice", "history")
U64_MAX = (1 << 64) - 1


def _dump_record(epoch: int, record: EpochRecord, owner_id: str) -> dict[str, Any]:
    return {
        "epoch": epoch, "suite": record.key.suite.label, "kem": int(record.kem),
        "secret": b64encode(bytes(record.key)),
        "root": None if record.root is None else b64encode(record.root), "size": record.size,
        "roster": None if record.roster is None else [[p, b64encode(f)] for p, f in sorted(record.roster.items())],
        "header": None if record.header is None else b64encode(record.header),
        "issued_at": record.issued_at, "source": record.source, "messages": record.messages,
        "sealed": record.key.sealed_count(owner_id),
    }


def dump(ring: KeyRing) -> dict[str, Any]:
    owner_id = ring.owner.participant_id
    return {
        "v": VERSION, "owner": owner_id, "allow_unsigned": ring.allow_unsigned,
        "admin_rotation": ring.admin_rotation_rooms(),
        "replay_capacity": ring._replay.capacity,
        "directory": [i.to_dict() for i in sorted(ring.directory(), key=lambda i: i.participant_id)],
        "admins": {room: sorted(b64encode(f) for f in ring.admins(room)) for room in sorted(ring._admins)},
        "rooms": {room: [_dump_record(e, ring.record(room, e), owner_id) for e in ring.epochs(room)]
                  for room in ring.rooms()},
        "replay": [list(entry) for entry in ring._replay.entries()],
    }


def _opt_b64(obj: dict[str, Any], key: str, size: int | None = None) -> bytes | None:
    return None if obj[key] is None else b64decode(obj[key], key, size=size)


def _get_count(obj: dict[str, Any], key: str, high: int) -> int:
    """A count or time read back from the file: a negative sealed count would extend the nonce budget."""
    value = get_int(obj, key)
    if not 0 <= value <= high:
        raise FormatError(key, f"must be from 0 to {high}")
    return value


def _load_roster(items: Any) -> dict[str, bytes]:
    if not isinstance(items, list):
        raise FormatError("roster", "must be a list")
    roster = {check_id(p, "roster.id"): b64decode(f, "roster.fingerprint", size=32) for p, f in items}
    if len(roster) != len(items):
        raise FormatError("roster", "duplicate member id")
    return roster


def _load_record(obj: Any, room_id: str, owner_id: str) -> tuple[int, EpochRecord]:
    if not isinstance(obj, dict):
        raise FormatError("rooms.epoch", "must be an object")
    check_fields(obj, ("epoch", "suite", "kem", "secret", "root", "size", "roster", "header", "issued_at",
                       "source", "messages", "sealed"))
    epoch = check_epoch(obj["epoch"])
    key = RoomKey(b64decode(obj["secret"], "secret", size=32), room_id=room_id, epoch=epoch,
                  suite=Suite.from_label(obj["suite"]))
    roster = None if obj["roster"] is None else _load_roster(obj["roster"])
    source = get_str(obj, "source")
    if source not in SOURCES:
        raise FormatError("source", "unknown source")
    key._restore_sealed_count(owner_id, _get_count(obj, "sealed", MAX_MESSAGES_PER_SENDER))
    record = EpochRecord(key, WrapKem.from_wire(get_int(obj, "kem")), _opt_b64(obj, "root", 32),
                         _get_count(obj, "size", MAX_MEMBERS), roster, _opt_b64(obj, "header"),
                         _get_count(obj, "issued_at", U64_MAX), source, _get_count(obj, "messages", U64_MAX))
    return epoch, record


def load(cls: type[KeyRing], obj: dict[str, Any], owner: Identity) -> KeyRing:
    check_fields(obj, ("v", "owner", "allow_unsigned", "admin_rotation", "replay_capacity", "directory", "admins",
                       "rooms", "replay"))
    if get_int(obj, "v") != VERSION:
        raise FormatError("v", "unsupported key ring version")
    if obj["owner"] != owner.participant_id:
        raise FormatError("owner", "this key ring belongs to another identity")
    if not isinstance(obj["allow_unsigned"], bool):
        raise FormatError("allow_unsigned", "must be true or false")
    try:
        ring = cls(owner, replay_capacity=get_int(obj, "replay_capacity"), allow_unsigned=obj["allow_unsigned"])
        for item in obj["directory"]:
            identity = PublicIdentity.from_dict(item)
            if identity.participant_id != owner.participant_id:
                ring.add_identity(identity)
        for room in obj["admin_rotation"]:
            ring.require_admin_rotation(check_id(room, "admin_rotation"))
        for room, fingerprints in dict(obj["admins"]).items():
            ring._admins[check_id(room, "admins")] = {b64decode(f, "admins", size=32) for f in fingerprints}
        for room, records in dict(obj["rooms"]).items():
            loaded = [_load_record(r, room, owner.participant_id) for r in records]
            ring._rooms[check_id(room, "rooms")] = dict(loaded)
            if len(ring._rooms[room]) != len(loaded):
                raise FormatError("rooms.epoch", "duplicate epoch")
        for room, epoch, sender, message_id in obj["replay"]:
            ring._replay.record((check_id(room, "replay"), check_epoch(epoch, "replay"), check_id(sender, "replay"),
                                 check_id(message_id, "replay")))
    except (TypeError, ValueError, AttributeError):
        raise FormatError("keyring", "malformed structure") from None
    return ring
