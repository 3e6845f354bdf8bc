"""The room whose chain the bundle, history and key ring vectors follow (group state v2).

room-42: epoch 1 by alice (admin) with alice, bob, carol; epoch 2 by alice removes carol and makes
bob an admin; epoch 3 by bob adds dave. Forgeries: carol (removed) and dave (a non-admin member)
sign epochs of their own; mallory and the server have valid identities but no authority.
"""

from __future__ import annotations

import functools
from typing import Any

from ..conformance_group import OPS, proof_obj

__all__ = ["OPS", "proof_obj"]
from ..group.bundle import Bundle
from ..group.header import NO_PREVIOUS
from ..identity import Identity
from ..keys import RoomKey
from ..sealing import _seal_from_parts
from .fixtures import ROOM, identity, private_obj, seed

ISSUED_AT = 1764000000
NAMES = ("alice", "bob", "carol", "dave", "mallory", "server")
PEOPLE: dict[str, Identity] = {name: identity(name) for name in NAMES}
# epoch -> (rotator, members, admins)
EPOCHS: dict[int, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    1: ("alice", ("alice", "bob", "carol"), ("alice",)),
    2: ("alice", ("alice", "bob"), ("alice", "bob")),
    3: ("bob", ("alice", "bob", "dave"), ("alice", "bob")),
}


def public(name: str) -> dict[str, Any]:
    return PEOPLE[name].public.to_dict()


def secret(epoch: int, variant: str = "") -> bytes:
    return seed(f"room-key/{epoch}{variant}")


def room_key(epoch: int) -> RoomKey:
    return RoomKey(secret(epoch), room_id=ROOM, epoch=epoch)


def admins_obj(names: tuple[str, ...]) -> list[list[str]]:
    return [[n, PEOPLE[n].public.fingerprint.hex()] for n in sorted(names)]


def build_inputs(epoch: int, *, rotator: str | None = None, members: tuple[str, ...] | None = None,
                 admins: tuple[str, ...] | None = None, previous: str | None = None, flags: int = 0,
                 variant: str = "", authority: dict[str, Any] | None = None) -> dict[str, Any]:
    default_rotator, default_members, default_admins = EPOCHS.get(epoch, EPOCHS[3])
    rotator, members = rotator or default_rotator, members or default_members
    if previous is None:
        previous = NO_PREVIOUS.hex() if epoch == 1 else str(built(epoch - 1)["epoch_hash"])
    return {"rotator": private_obj(PEOPLE[rotator]), "secret": secret(epoch, variant).hex(), "suite": "A256GCM",
            "kem": 1, "room_id": ROOM, "epoch": epoch, "previous": previous,
            "issued_at": ISSUED_AT + 86400 * epoch, "flags": flags, "max_messages": 100, "max_age_seconds": 604800,
            "admins": admins_obj(admins or default_admins), "members": [public(m) for m in members],
            "ephemerals": {m: seed(f"ephemeral/{m}/{epoch}{variant}").hex() for m in members}, "authority": authority}


@functools.cache
def built(epoch: int) -> dict[str, Any]:
    return OPS["build_bundle"](build_inputs(epoch))


def forged(**inputs: Any) -> dict[str, Any]:
    epoch = inputs.pop("epoch")
    return OPS["build_bundle"](build_inputs(epoch, **inputs))


def bundle_hex(epoch: int) -> str:
    return str(built(epoch)["bundle"])


def slice_hex(epoch: int, member: str) -> str:
    return str(built(epoch)["slices"][member])


def announcement_hex(epoch: int) -> str:
    return str(built(epoch)["announcement"])


def member_proof_hex(epoch: int, member: str) -> str:
    return str(OPS["member_proof"]({"bundle": bundle_hex(epoch), "id": member})["proof"])


def proof_of(epoch: int, member: str) -> dict[str, Any]:
    return proof_obj(Bundle.from_bytes(bytes.fromhex(bundle_hex(epoch))).proof_for(member))


def session(owner: str, steps: list[dict[str, Any]], *, anchors: tuple[str, ...] = ("alice",),
            directory: tuple[str, ...] = (), allow_unsigned: bool = False,
            owner_identity: Identity | None = None) -> dict[str, Any]:
    who = owner_identity or PEOPLE[owner]
    pinned = set(directory) | {a for a in anchors if a != owner}
    return {"owner": private_obj(who), "allow_unsigned": allow_unsigned,
            "directory": [public(n) for n in sorted(pinned)],
            "anchors": [{"room_id": ROOM, "id": a} for a in anchors], "steps": steps}


def accept(data: str) -> dict[str, Any]:
    return {"accept": data}


def message(epoch: int, sender: str, message_id: str, *, signed: bool = True, room_id: str = ROOM,
            secret_variant: str = "") -> str:
    key = RoomKey(secret(epoch, secret_variant), room_id=room_id, epoch=epoch)
    sealed = _seal_from_parts(key, f"{sender} says hello in epoch {epoch}".encode(), message_id=message_id,
                              sender_id=sender, content_type="text/plain", pad=True,
                              nonce=seed(f"nonce/{sender}/{epoch}/{message_id}", 12),
                              signer=PEOPLE[sender] if signed and sender in PEOPLE else None)
    return sealed.to_bytes().hex()


def open_step(data: str, check_replay: bool = True) -> dict[str, Any]:
    return {"open": {"binary": data}, "check_replay": check_replay}
