"""A small room for the attack tests: alice (admin, rotates), bob and carol (members), dave (outsider
who may join), mallory (attacker with an identity of her own). Every secret comes from a fixed seed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core_helpers import forge_bundle, key_of, next_after

from domvia_e2ee import (
    Bundle, DomviaError, Identity, KeyRing, PublicIdentity, Room, RoomKey, RoomPolicy, Suite, WrapKem,
    keyring_to_plaintext,
)
from domvia_e2ee.group.members import MemberProof

ROOM = "room-1"
NAMES = ("alice", "bob", "carol", "dave", "mallory")


def seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("attacks", *parts)).encode()).digest()


def identity(name: str, *, post_quantum: bool = False) -> Identity:
    return Identity(name, x25519_private=seed(name, "x"), ed25519_seed=seed(name, "ed"),
                    xwing_seed=seed(name, "pq") if post_quantum else None)


def room_key(epoch: int, *, room_id: str = ROOM, label: str = "", suite: Suite = Suite.AES_256_GCM) -> RoomKey:
    return RoomKey(seed(room_id, epoch, label), room_id=room_id, epoch=epoch, suite=suite)


@dataclass
class Scenario:
    people: dict[str, Identity]
    rings: dict[str, KeyRing]
    room: Room
    bundles: dict[int, Bundle] = field(default_factory=dict)

    def deliver(self, bundle: Bundle, *names: str) -> None:
        for name in names:
            self.rings[name].accept(bundle.to_bytes())


def scenario(*, members: tuple[str, ...] = ("bob", "carol"), allow_unsigned: bool = False,
             policy: RoomPolicy | None = None) -> Scenario:
    """alice creates ROOM with members at epoch 1 and every member accepts the bundle.

    Every key ring knows every honest public identity (as a server that publishes them honestly
    would make happen) and trusts alice as the room's admin (checked out of band)."""
    people = {name: identity(name) for name in NAMES}
    rings = {name: KeyRing(people[name], allow_unsigned=allow_unsigned) for name in NAMES}
    for ring in rings.values():
        for name in ("alice", "bob", "carol", "dave"):
            if people[name] is not ring.owner:
                ring.add_identity(people[name].public)
        ring.trust_admin(ROOM, people["alice"].public)
    room, rotation = Room.create(rings["alice"], ROOM, [people[m].public for m in members], policy=policy)
    result = Scenario(people, rings, room, {1: rotation.bundle})
    result.deliver(rotation.bundle, *members)
    return result


def state(ring: KeyRing) -> dict[str, Any]:
    """Everything a key ring holds, to check that a rejected input changed nothing."""
    return keyring_to_plaintext(ring)


def held_key(ring: KeyRing, epoch: int, room_id: str = ROOM) -> RoomKey | None:
    """The room key ring holds for an epoch of the room (None for a link epoch)."""
    return key_of(ring, room_id, epoch)


def error_code(func: Any, *args: Any, **kwargs: Any) -> str:
    """The code of the DomviaError func raises; fails the test if it succeeds or raises anything else."""
    try:
        func(*args, **kwargs)
    except DomviaError as error:
        return error.code
    raise AssertionError(f"{getattr(func, '__name__', func)} accepted an attack input")


def signed_bundle(rotator: Identity, key: RoomKey, members: Sequence[PublicIdentity], wrapped: Sequence[bytes], *,
                  chain: KeyRing | None, authority: MemberProof | None = None,
                  kem: WrapKem = WrapKem.X25519) -> Bundle:
    """A bundle signed by rotator over member entries it chose: what a malicious rotator can make.
    members must be sorted by id; wrapped[i] is what members[i]'s entry carries. The header extends
    chain's latest epoch (previous, admins and policy as it holds them), or is an epoch 1 (None)."""
    extend = next_after(chain, key.room_id) if chain is not None else {}
    return forge_bundle(rotator, key, dict(zip(members, wrapped, strict=True)), authority=authority, kem=kem,
                        **extend)


def next_bundle(s: Scenario, key: RoomKey, names: Sequence[str], *, rotator: str = "alice",
                chain: str = "alice", authority: MemberProof | None = None) -> Bundle:
    """An honestly wrapped bundle for `names`, signed by rotator, extending `chain`'s latest epoch."""
    return forge_bundle(s.people[rotator], key, [s.people[n].public for n in names], authority=authority,
                        **next_after(s.rings[chain], key.room_id))


def publics(s: Scenario, *names: str) -> list[PublicIdentity]:
    """Public identities sorted by id, as a bundle lists its members."""
    return sorted((s.people[n].public for n in names), key=lambda p: p.participant_id.encode())
