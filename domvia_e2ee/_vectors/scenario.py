"""The room whose life the bundle, history and key ring vectors follow.

room-42: epoch 1 by alice (admin) with alice, bob, carol; epoch 2 by alice removes carol;
epoch 3 by bob adds dave; carol, removed, signs an epoch-4 bundle; mallory and the server have
valid identities but no authority.
"""

from __future__ import annotations

import functools
from typing import Any

from ..bundle import Bundle
from ..conformance_ops import OPS
from ..identity import Identity
from ..sealing import _seal_from_parts
from ..keys import RoomKey
from .fixtures import ROOM, identity, private_obj, seed

ISSUED_AT = 1764000000
NAMES = ("alice", "bob", "carol", "dave", "mallory", "server")
PEOPLE: dict[str, Identity] = {name: identity(name) for name in NAMES}
EPOCHS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("alice", ("alice", "bob", "carol")),
    2: ("alice", ("alice", "bob")),
    3: ("bob", ("alice", "bob", "dave")),
    4: ("carol", ("bob", "carol")),
}


def public(name: str) -> dict[str, Any]:
    return PEOPLE[name].public.to_dict()


def secret(epoch: int) -> bytes:
    return seed(f"room-key/{epoch}")


def room_key(epoch: int) -> RoomKey:
    return RoomKey(secret(epoch), room_id=ROOM, epoch=epoch)


def build_inputs(epoch: int, rotator: str | None = None, members: tuple[str, ...] | None = None) -> dict[str, Any]:
    default_rotator, default_members = EPOCHS[epoch]
    rotator = rotator or default_rotator
    members = members or default_members
    proof = None
    if epoch > 1 and rotator in EPOCHS[epoch - 1][1]:
        proof = proof_obj(epoch - 1, rotator)
    if epoch == 4:
        proof = proof_obj(1, "carol")  # all carol has: membership of epoch 1
    return {"rotator": private_obj(PEOPLE[rotator]), "secret": secret(epoch).hex(), "suite": "A256GCM", "kem": 1,
            "room_id": ROOM, "epoch": epoch, "issued_at": ISSUED_AT + 86400 * epoch,
            "members": [public(m) for m in members],
            "ephemerals": {m: seed(f"ephemeral/{m}/{epoch}").hex() for m in members}, "proof": proof}


@functools.cache
def built(epoch: int) -> dict[str, Any]:
    return OPS["build_bundle"](build_inputs(epoch))


def bundle_hex(epoch: int) -> str:
    return str(built(epoch)["bundle"])


def slice_hex(epoch: int, member: str) -> str:
    return str(built(epoch)["slices"][member])


def proof_obj(epoch: int, member: str) -> dict[str, Any]:
    proof = Bundle.from_bytes(bytes.fromhex(bundle_hex(epoch))).proof_for(member)
    return {"wrapped_digest": proof.wrapped_digest.hex(), "index": proof.index, "path": [p.hex() for p in proof.path]}


def session(owner: str, steps: list[dict[str, Any]], *, admins: tuple[str, ...] = ("alice",),
            directory: tuple[str, ...] = NAMES, allow_unsigned: bool = False,
            owner_identity: Identity | None = None, admin_rotation: bool = False) -> dict[str, Any]:
    who = owner_identity or PEOPLE[owner]
    extra = {"admin_rotation": [ROOM]} if admin_rotation else {}
    return extra | {"owner": private_obj(who), "allow_unsigned": allow_unsigned,
            "directory": [public(n) for n in directory if n != owner],
            "admins": [{"room_id": ROOM, "id": a} for a in admins if a in directory or a == owner],
            "steps": steps}


def accept(data: str) -> dict[str, Any]:
    return {"accept": data}


def message(epoch: int, sender: str, message_id: str, *, signed: bool = True, room_id: str = ROOM) -> str:
    key = RoomKey(secret(epoch), room_id=room_id, epoch=epoch)
    sealed = _seal_from_parts(key, f"{sender} says hello in epoch {epoch}".encode(), message_id=message_id,
                              sender_id=sender, content_type="text/plain", pad=True,
                              nonce=seed(f"nonce/{sender}/{epoch}/{message_id}", 12),
                              signer=PEOPLE[sender] if signed and sender in PEOPLE else None)
    return sealed.to_bytes().hex()


def open_step(data: str, check_replay: bool = True) -> dict[str, Any]:
    return {"open": {"binary": data}, "check_replay": check_replay}
