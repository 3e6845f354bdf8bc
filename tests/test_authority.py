"""Who may rotate: the admins of the epoch before, or its members where the signed policy allows it;
and bundles handed over as objects obey the parse rules."""

from __future__ import annotations

import dataclasses

import pytest

from core_helpers import forge_bundle, next_after, ring_state

from domvia_e2ee import (
    FormatError, Identity, KeyRing, PolicyError, Room, RoomKey, RoomPolicy, UnauthorizedError,
    keyring_from_plaintext, keyring_to_plaintext,
)

ROOM = "room-auth"


def _room(policy: RoomPolicy | None = None) -> tuple[dict[str, Identity], dict[str, KeyRing], Room]:
    people = {n: Identity.generate(n) for n in ("alice", "bob", "carol")}
    rings = {n: KeyRing(i) for n, i in people.items()}
    for ring in rings.values():
        ring.trust_admin(ROOM, people["alice"].public)
        for other in people.values():
            if other is not ring.owner:
                ring.add_identity(other.public)
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public, people["carol"].public],
                                 policy=policy)
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle)
    return people, rings, room


def test_a_member_may_rotate_only_where_the_signed_policy_allows_it() -> None:
    people, rings, _ = _room()
    with pytest.raises(PolicyError):  # by default only admins rotate: bob's own Room refuses
        Room(rings["bob"], ROOM).rotate()
    forged = forge_bundle(people["bob"], RoomKey.generate(room_id=ROOM, epoch=2), [p.public for p in people.values()],
                          **next_after(rings["bob"], ROOM))
    before = ring_state(rings["carol"])
    with pytest.raises(UnauthorizedError):
        rings["carol"].accept(forged.to_bytes())
    assert ring_state(rings["carol"]) == before
    people, rings, _ = _room(RoomPolicy(members_may_rotate=True))
    rotation = Room(rings["bob"], ROOM).rotate()  # bob's own key ring accepts: he is a member of epoch 1
    assert rings["carol"].accept(rotation.bundle.to_bytes()).epochs == (2,)
    assert rings["alice"].accept(rotation.bundle.to_bytes()).epochs == (2,)


def test_the_rotation_policy_survives_export() -> None:
    """Who may rotate is signed in every header, so the exported key ring carries it by construction."""
    people, rings, _ = _room()
    restored = keyring_from_plaintext(keyring_to_plaintext(rings["bob"]), people["bob"])
    assert restored.header(ROOM).policy.members_may_rotate is False
    with pytest.raises(PolicyError):
        Room(restored, ROOM).rotate()
    people, rings, _ = _room(RoomPolicy(members_may_rotate=True))
    restored = keyring_from_plaintext(keyring_to_plaintext(rings["bob"]), people["bob"])
    assert restored.header(ROOM).policy.members_may_rotate is True
    assert Room(restored, ROOM).rotate().epoch == 2


def test_objects_are_checked_like_parsed_bytes() -> None:
    _, rings, room = _room()
    rotation = room.add([Identity.generate("dave").public], share_history=[1])
    history = rotation.history["dave"]
    late = dataclasses.replace(history, anchor_epoch=1)
    with pytest.raises(FormatError):
        rings["bob"].accept(late)
    bundle = rotation.bundle
    unsorted = dataclasses.replace(bundle, members=tuple(reversed(bundle.members)))
    with pytest.raises(FormatError):
        rings["bob"].accept(unsorted)
    short = dataclasses.replace(bundle, members=bundle.members[:-1])
    with pytest.raises(FormatError):
        rings["bob"].accept(short)
    other_sharer = dataclasses.replace(history, sharer_id="bob")
    with pytest.raises(FormatError):
        rings["bob"].accept(other_sharer)
