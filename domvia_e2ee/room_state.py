"""The rotating member's room state file form (spec/keyring.md, "Room state").

It holds no secret: keys live in the key ring. Loading is strict and all-or-nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bundle import MembershipProof
from .encoding import b64decode, b64encode, check_fields, check_id, get_int
from .errors import FormatError
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


def load(cls: type[Room], obj: dict[str, Any], keyring: KeyRing) -> Room:
    from .room import RotationPolicy

    check_fields(obj, ("v", "room", "suite", "kem", "epoch", "max_messages", "max_age_seconds", "members", "proof"))
    if get_int(obj, "v") != VERSION:
        raise FormatError("v", "unsupported room state version")
    try:
        room = cls(keyring, check_id(obj["room"], "room"), suite=Suite.from_label(obj["suite"]),
                   kem=WrapKem.from_wire(get_int(obj, "kem")),
                   policy=RotationPolicy(get_int(obj, "max_messages"), get_int(obj, "max_age_seconds")))
        room.members = {m.participant_id: m for m in (PublicIdentity.from_dict(d) for d in obj["members"])}
        room.epoch = get_int(obj, "epoch")
        proof = obj["proof"]
        if proof is not None:
            check_fields(proof, ("digest", "index", "path"))
            room.own_proof = MembershipProof(b64decode(proof["digest"], "proof.digest", size=32),
                                             get_int(proof, "index"),
                                             tuple(b64decode(p, "proof.path", size=32) for p in proof["path"]))
    except (TypeError, ValueError, AttributeError):
        raise FormatError("room", "malformed structure") from None
    if keyring.latest_epoch(room.room_id) != room.epoch:
        raise FormatError("epoch", "room state and key ring disagree on the current epoch")
    return room
