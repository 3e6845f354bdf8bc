"""Who may rotate: admin-rotated rooms, and bundles handed over as objects obey the parse rules."""

from __future__ import annotations

import dataclasses

import pytest

from domvia_e2ee import FormatError, Identity, KeyRing, Room, UnauthorizedError

ROOM = "room-auth"


def _room() -> tuple[dict[str, Identity], dict[str, KeyRing], Room]:
    people = {n: Identity.generate(n) for n in ("alice", "bob", "carol")}
    rings = {n: KeyRing(i) for n, i in people.items()}
    for ring in rings.values():
        ring.trust_admin(ROOM, people["alice"].public)
        for other in people.values():
            if other is not ring.owner:
                ring.add_identity(other.public)
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public, people["carol"].public])
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle)
    return people, rings, room


def test_a_member_may_rotate_by_default_but_not_in_an_admin_rotated_room() -> None:
    people, rings, _ = _room()
    bob_room = Room(rings["bob"], ROOM)
    bob_room.members = {n: p.public for n, p in people.items()}
    bob_room.epoch = 1
    bob_room.own_proof = None
    rotation = bob_room.rotate()  # bob's own key ring accepts: it verifies by roster
    before = rings["carol"].to_dict()
    rings["carol"].require_admin_rotation(ROOM)
    with pytest.raises(UnauthorizedError):
        rings["carol"].accept(rotation.bundle.to_bytes())
    assert rings["carol"].to_dict() | {"admin_rotation": []} == before | {"admin_rotation": []}
    assert rings["alice"].accept(rotation.bundle.to_bytes()).epochs == (2,)


def test_admin_rotation_survives_export() -> None:
    people, rings, _ = _room()
    rings["bob"].require_admin_rotation(ROOM)
    restored = KeyRing.from_dict(rings["bob"].to_dict(), people["bob"])
    assert restored.admin_rotation_rooms() == [ROOM]


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
