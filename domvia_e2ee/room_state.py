"""The rotating member's room state file form (spec/keyring.md, "Room state").

It holds no secret: keys live in the key ring. Loading is strict and all-or-nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bundle import MembershipProof
from .encoding import b64decode, b64encode, check_fields, check_id, get_int
from .errors import FormatError
from .hazmat import merkle
from .hazmat.suites import Suite
from .identity import PublicIdentity
from .wrap import WrapKem

if TYPE_CHECKING:
    from .keyring import KeyRing
    from .room import Room

VERSION = 1


def dump(room: Room) -> dict[str, Any]:
    proof = room.own_proof
    return {
        "v": VERSION, "room": room.room_id, "suite": room.suite.label, "kem": int(room.kem),
        "epoch": room.epoch, "max_messages": room.policy.max_messages,
        "max_age_seconds": room.policy.max_age_seconds,
        "members": [m.to_dict() for _, m in sorted(room.members.items())],
        "proof": None if proof is None else {"digest": b64encode(proof.wrapped_digest), "index": proof.index,
                                             "path": [b64encode(p) for p in proof.path]},
    }


def _load_members(items: Any, keyring: KeyRing) -> dict[str, PublicIdentity]:
    """Every member once, the owner among them: the next rotation keeps the owner in the room."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FormatError("members", "must be a list of public identities")
    members = [PublicIdentity.from_dict(item) for item in items]
    by_id = {m.participant_id: m for m in members}
    if len(by_id) != len(members) or by_id.get(keyring.owner.participant_id) != keyring.owner.public:
        raise FormatError("members", "must list each member once, the key ring's owner included")
    return by_id


def _load_proof(obj: Any) -> MembershipProof:
    if not isinstance(obj, dict):
        raise FormatError("proof", "must be an object or null")
    check_fields(obj, ("digest", "index", "path"))
    index, path = get_int(obj, "index"), obj["path"]
    if not 0 <= index <= 0xFFFFFFFF or len(path) > merkle.MAX_PATH:
        raise FormatError("proof", "index or path out of range")
    return MembershipProof(b64decode(obj["digest"], "proof.digest", size=32), index,
                           tuple(b64decode(p, "proof.path", size=32) for p in path))


def load(cls: type[Room], obj: dict[str, Any], keyring: KeyRing) -> Room:
    from .room import RotationPolicy

    check_fields(obj, ("v", "room", "suite", "kem", "epoch", "max_messages", "max_age_seconds", "members", "proof"))
    if get_int(obj, "v") != VERSION:
        raise FormatError("v", "unsupported room state version")
    try:
        room = cls(keyring, check_id(obj["room"], "room"), suite=Suite.from_label(obj["suite"]),
                   kem=WrapKem.from_wire(get_int(obj, "kem")),
                   policy=RotationPolicy(get_int(obj, "max_messages"), get_int(obj, "max_age_seconds")))
        room.members = _load_members(obj["members"], keyring)
        room.epoch = get_int(obj, "epoch")
        room.own_proof = None if obj["proof"] is None else _load_proof(obj["proof"])
    except (TypeError, ValueError, AttributeError):
        raise FormatError("room", "malformed structure") from None
    if keyring.latest_epoch(room.room_id) != room.epoch:
        raise FormatError("epoch", "room state and key ring disagree on the current epoch")
    return room
