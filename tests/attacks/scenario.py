"""A small room for the attack tests: alice (admin, rotates), bob and carol (members), dave (outsider
who may join), mallory (attacker with an identity of her own). Every secret comes from a fixed seed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from domvia_e2ee import DomviaError, Identity, KeyRing, PublicIdentity, Room, RoomKey, Suite, WrapKem
from domvia_e2ee.bundle import Bundle, BundleHeader, Member, MembershipProof
from domvia_e2ee.hazmat import merkle

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


def scenario(*, members: tuple[str, ...] = ("bob", "carol"), allow_unsigned: bool = False) -> Scenario:
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
    room, rotation = Room.create(rings["alice"], ROOM, [people[m].public for m in members])
    result = Scenario(people, rings, room, {1: rotation.bundle})
    result.deliver(rotation.bundle, *members)
    return result


def state(ring: KeyRing) -> dict[str, Any]:
    """Everything a key ring holds, to check that a rejected input changed nothing."""
    return ring.to_dict()


def error_code(func: Any, *args: Any, **kwargs: Any) -> str:
    """The code of the DomviaError func raises; fails the test if it succeeds or raises anything else."""
    try:
        func(*args, **kwargs)
    except DomviaError as error:
        return error.code
    raise AssertionError(f"{getattr(func, '__name__', func)} accepted an attack input")


def signed_bundle(rotator: Identity, key: RoomKey, members: Sequence[PublicIdentity], wrapped: Sequence[bytes], *,
                  proof: MembershipProof | None, kem: WrapKem = WrapKem.X25519) -> Bundle:
    """A bundle signed by rotator over leaves it chose: what a malicious rotator can make.
    members must be sorted by id; wrapped[i] is what members[i]'s leaf carries."""
    leaves = tuple(Member(m.participant_id, m.fingerprint, w) for m, w in zip(members, wrapped, strict=True))
    header = BundleHeader(kem, key.suite, key.room_id, key.epoch, key.key_id, rotator.participant_id, 0,
                          len(leaves), merkle.Tree([leaf.leaf() for leaf in leaves]).root)
    return Bundle(header, rotator.sign(header.signed_bytes()), proof, leaves)


def publics(s: Scenario, *names: str) -> list[PublicIdentity]:
    """Public identities sorted by id, as a bundle lists its members."""
    return sorted((s.people[n].public for n in names), key=lambda p: p.participant_id.encode())
