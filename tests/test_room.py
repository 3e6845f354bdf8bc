"""Room: create, add, remove, rotate, the rotation policy, and its strict state file."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from core_helpers import ROOM, fixed_identity, world

from domvia_e2ee import (
    DomviaError, FormatError, InvalidKeyError, KeyRing, NotRecipientError, PolicyError, Room, RotationPolicy, Suite,
    UnknownKeyError, WrapKem,
)
from domvia_e2ee.encoding import b64encode

NAMES = ("alice", "bob", "carol", "dave")


def _room(**options: Any) -> tuple[dict[str, Any], dict[str, KeyRing], Room]:
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public, identities["carol"].public],
                                 **options)
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle)
    return identities, rings, room


def test_create() -> None:
    identities, rings, room = _room()
    assert room.epoch == 1 and sorted(room.members) == ["alice", "bob", "carol"]
    assert rings["alice"].admins(ROOM) == {identities["alice"].public.fingerprint}
    assert rings["alice"].latest_epoch(ROOM) == 1 and room.own_proof is not None
    assert repr(room) == "Room('room-1', epoch=1, members=3)"


@pytest.mark.parametrize(("suite", "kem"), [(Suite.XCHACHA20_POLY1305, WrapKem.X25519),
                                            (Suite.AES_256_GCM, WrapKem.MLKEM768_X25519)])
def test_other_suites_and_kems(suite: Suite, kem: WrapKem) -> None:
    pq = kem is WrapKem.MLKEM768_X25519
    alice, bob = fixed_identity("alice", post_quantum=pq), fixed_identity("bob", post_quantum=pq)
    rings = {"alice": KeyRing(alice), "bob": KeyRing(bob)}
    rings["alice"].add_identity(bob.public)
    rings["bob"].add_identity(alice.public)
    rings["bob"].trust_admin(ROOM, alice.public)
    _, rotation = Room.create(rings["alice"], ROOM, [bob.public], suite=suite, kem=kem)
    assert rotation.bundle.header.suite == suite and rotation.bundle.header.kem == kem
    rings["bob"].accept(rotation.bundle.to_bytes())
    sealed = rings["bob"].seal(ROOM, b"hi", message_id="m-1")
    assert sealed.suite == suite and rings["alice"].open(sealed).plaintext == b"hi"


def test_add_rotates_and_the_joiner_reads_from_then_on() -> None:
    identities, rings, room = _room()
    before = rings["bob"].seal(ROOM, b"before", message_id="m-1")
    rotation = room.add([identities["dave"].public])
    assert rotation.epoch == 2 == room.epoch and "dave" in room.members
    for name in ("bob", "carol", "dave"):
        rings[name].accept(rotation.bundle.to_bytes())
    with pytest.raises(UnknownKeyError):
        rings["dave"].open(before)
    assert rings["dave"].open(rings["carol"].seal(ROOM, b"after", message_id="m-2")).plaintext == b"after"


def test_remove_rotates_and_the_removed_reads_nothing_after() -> None:
    _, rings, room = _room()
    rotation = room.remove(["carol"])
    assert room.epoch == 2 and "carol" not in room.members
    before = rings["carol"].to_dict()
    with pytest.raises(NotRecipientError):
        rings["carol"].accept(rotation.bundle.to_bytes())
    with pytest.raises(NotRecipientError):
        rings["carol"].accept(rotation.bundle.slice_for("bob").to_bytes())
    assert rings["carol"].to_dict() == before
    rings["bob"].accept(rotation.bundle)
    after = rings["alice"].seal(ROOM, b"after", message_id="m-1")
    with pytest.raises(UnknownKeyError):
        rings["carol"].open(after)
    assert rings["bob"].open(after).plaintext == b"after"


def test_membership_changes_that_are_refused_change_nothing() -> None:
    identities, rings, room = _room()
    state, ring_state = room.to_dict(), rings["alice"].to_dict()
    attempts: list[tuple[type[DomviaError], Callable[[], object]]] = [
        (PolicyError, lambda: room.add([identities["bob"].public])),
        (PolicyError, lambda: room.remove(["alice"])),
        (PolicyError, lambda: room.remove(["dave"])),
        (UnknownKeyError, lambda: room.add([identities["dave"].public], share_history=[5])),
    ]
    for error, attempt in attempts:
        with pytest.raises(error):
            attempt()
        assert room.to_dict() == state and rings["alice"].to_dict() == ring_state


def test_a_failed_rotation_leaves_the_previous_epoch_in_force() -> None:
    """An X-Wing room cannot wrap to a joiner without a post-quantum key: nothing changes."""
    alice = fixed_identity("alice", post_quantum=True)
    ring = KeyRing(alice)
    room, _ = Room.create(ring, ROOM, [], kem=WrapKem.MLKEM768_X25519)
    state, ring_state = room.to_dict(), ring.to_dict()
    with pytest.raises(InvalidKeyError):
        room.add([fixed_identity("bob").public])
    assert room.to_dict() == state and ring.to_dict() == ring_state


def test_rotate_keeps_members_and_every_epoch() -> None:
    _, rings, room = _room()
    for expected in (2, 3, 4):
        rotation = room.rotate()
        assert rotation.epoch == expected
        rings["bob"].accept(rotation.bundle.slice_for("bob"))
    assert rings["bob"].epochs(ROOM) == [1, 2, 3, 4]
    assert all(rings["bob"].key(ROOM, e) == rings["alice"].key(ROOM, e) for e in (1, 2, 3, 4))


def test_rotation_policy() -> None:
    _, rings, room = _room(policy=RotationPolicy(max_messages=3, max_age_seconds=100))
    issued = rings["alice"].record(ROOM, 1).issued_at
    assert room.rotation_due(now=issued) == ()
    assert room.rotation_due(now=issued + 100) == ("age",)
    for i in range(3):
        rings["alice"].seal(ROOM, b"x", message_id=f"m-{i}")
    assert room.rotation_due(now=issued) == ("messages",)
    assert room.rotation_due(now=issued + 1000) == ("messages", "age")
    room.rotate()
    assert room.rotation_due(now=rings["alice"].record(ROOM, 2).issued_at) == ()
    for bad in ((0, 1), (1, 0), (-1, 5)):
        with pytest.raises(ValueError):
            RotationPolicy(*bad)


def test_opened_messages_count_towards_rotation() -> None:
    _, rings, room = _room(policy=RotationPolicy(max_messages=2))
    for i in range(2):
        rings["alice"].open(rings["bob"].seal(ROOM, b"x", message_id=f"m-{i}"))
    assert "messages" in room.rotation_due()


# -- state ---------------------------------------------------------------------------------------


def test_room_state_round_trip_and_handover_of_the_process() -> None:
    identities, rings, room = _room()
    room.add([identities["dave"].public])
    state = json.loads(json.dumps(room.to_dict()))
    ring = KeyRing.from_dict(json.loads(json.dumps(rings["alice"].to_dict())), identities["alice"])
    again = Room.from_dict(state, ring)
    assert again.to_dict() == room.to_dict()
    assert (again.epoch, sorted(again.members), again.own_proof) == (room.epoch, sorted(room.members), room.own_proof)
    rotation = again.remove(["dave"])
    assert rotation.epoch == 3
    assert rings["bob"].accept(rotation.bundle.to_bytes()).epochs == (3,)  # bob held no epoch 2: admin signs


def test_the_state_holds_no_secret() -> None:
    _, rings, room = _room()
    text = json.dumps(room.to_dict())
    for epoch in rings["alice"].epochs(ROOM):
        secret = bytes(rings["alice"].key(ROOM, epoch))
        assert secret.hex() not in text
        assert b64encode(secret) not in text


Mutation = Callable[[dict[str, Any]], object]
MALFORMED: list[tuple[str, Mutation, str]] = [
    ("version", lambda s: s.update(v=2), "v"),
    ("unknown", lambda s: s.update(extra=1), "extra"),
    ("missing", lambda s: s.pop("members"), "members"),
    ("room id", lambda s: s.update(room="a b"), "room"),
    ("suite", lambda s: s.update(suite="XX"), "suite"),
    ("kem", lambda s: s.update(kem=3), "kem"),
    ("policy zero", lambda s: s.update(max_messages=0), "room"),
    ("epoch behind the key ring", lambda s: s.update(epoch=1), "epoch"),
    ("epoch not int", lambda s: s.update(epoch="2"), "epoch"),
    ("members not list", lambda s: s.update(members="ab"), "members"),
    ("members without the owner", lambda s: s.update(members=[m for m in s["members"] if m["id"] != "alice"]),
     "members"),
    ("members twice", lambda s: s.update(members=s["members"] + s["members"][:1]), "members"),
    ("member malformed", lambda s: s["members"][0].update(v=5), "v"),
    ("proof not object", lambda s: s.update(proof=["digest"]), "proof"),
    ("proof index negative", lambda s: s["proof"].update(index=-3), "proof"),
    ("proof index too large", lambda s: s["proof"].update(index=2**32), "proof"),
    ("proof path too long", lambda s: s["proof"].update(path=s["proof"]["path"] * 40), "proof"),
    ("proof digest", lambda s: s["proof"].update(digest="AAAA"), "proof.digest"),
    ("proof field", lambda s: s["proof"].update(extra=1), "extra"),
]


@pytest.mark.parametrize(("name", "mutate", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_room_state_is_refused(name: str, mutate: Mutation, field: str) -> None:
    identities, rings, room = _room()
    room.add([identities["dave"].public])
    state = copy.deepcopy(room.to_dict())
    mutate(state)
    with pytest.raises(FormatError) as info:
        Room.from_dict(state, rings["alice"])
    assert info.value.field == field, info.value
