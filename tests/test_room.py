"""Room: create, add, remove, rotate, admins and policy, the rotation policy, and that the Room is
derived from the key ring's newest epoch (there is no separate room state file any more)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from core_helpers import ROOM, fixed_identity, forge_bundle, key_of, next_after, ring_state, world

from domvia_e2ee import (
    DomviaError, DowngradeError, FormatError, InvalidKeyError, KeyRing, NotMemberError, NotRecipientError,
    PolicyError, Room, RoomKey, RoomPolicy, Suite, UnauthorizedError, UnknownKeyError, WrapKem, keyring_from_plaintext,
    keyring_to_plaintext,
)
from domvia_e2ee.group.header import Flag

NAMES = ("alice", "bob", "carol", "dave")


def _room(**options: Any) -> tuple[dict[str, Any], dict[str, KeyRing], Room]:
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public, identities["carol"].public],
                                 **options)
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle)
    return identities, rings, room


def _view(room: Room) -> tuple[object, ...]:
    return room.epoch, sorted(room.members), room.admins, room.policy, room.suite, room.kem


def test_create() -> None:
    identities, rings, room = _room()
    assert room.epoch == 1 and sorted(room.members) == ["alice", "bob", "carol"]
    assert room.admins == ("alice",) and room.policy == RoomPolicy()
    assert rings["alice"].anchors(ROOM) == {identities["alice"].public.fingerprint}
    assert rings["alice"].latest_epoch(ROOM) == 1
    assert rings["bob"].header(ROOM).admins == ((("alice", identities["alice"].public.fingerprint)),)
    assert repr(room) == "Room('room-1', epoch=1, members=3)"
    with pytest.raises(PolicyError):  # a room the key ring holds is not created twice
        Room.create(rings["alice"], ROOM, [])


def test_create_with_admins_and_policy() -> None:
    _, rings, room = _room(admins=["bob"], policy=RoomPolicy(max_messages=5, max_age_seconds=60,
                                                                      members_may_rotate=True))
    assert room.admins == ("alice", "bob")
    header = rings["carol"].header(ROOM)
    assert header.policy == RoomPolicy(5, 60, True) and header.flags == Flag.MEMBERS_MAY_ROTATE
    with pytest.raises(PolicyError):  # admins must be members
        Room.create(KeyRing(fixed_identity("zed")), ROOM, [], admins=["bob"])


@pytest.mark.parametrize(("suite", "kem"), [(Suite.XCHACHA20_POLY1305, WrapKem.X25519),
                                            (Suite.AES_256_GCM, WrapKem.MLKEM768_X25519)])
def test_other_suites_and_kems(suite: Suite, kem: WrapKem) -> None:
    pq = kem is WrapKem.MLKEM768_X25519
    alice, bob = fixed_identity("alice", post_quantum=pq), fixed_identity("bob", post_quantum=pq)
    rings = {"alice": KeyRing(alice), "bob": KeyRing(bob)}
    rings["alice"].add_identity(bob.public)
    rings["bob"].add_identity(alice.public)
    rings["bob"].trust_admin(ROOM, alice.public)
    room, rotation = Room.create(rings["alice"], ROOM, [bob.public], suite=suite, kem=kem)
    assert rotation.bundle.header.suite == suite and rotation.bundle.header.kem == kem
    assert (room.suite, room.kem) == (suite, kem)
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
    assert rings["dave"].epochs(ROOM) == [2]
    with pytest.raises(UnknownKeyError):
        rings["dave"].open(before)
    assert rings["dave"].open(rings["carol"].seal(ROOM, b"after", message_id="m-2")).plaintext == b"after"


def test_remove_rotates_and_the_removed_reads_nothing_after() -> None:
    _, rings, room = _room()
    rotation = room.remove(["carol"])
    assert room.epoch == 2 and "carol" not in room.members
    before = ring_state(rings["carol"])
    with pytest.raises(NotRecipientError):
        rings["carol"].accept(rotation.bundle.slice_for("bob").to_bytes())
    assert ring_state(rings["carol"]) == before
    rings["bob"].accept(rotation.bundle)
    after = rings["alice"].seal(ROOM, b"after", message_id="m-1")
    with pytest.raises(UnknownKeyError):
        rings["carol"].open(after)
    # the bundle keeps carol's chain as a link: she knows the epoch exists and holds no key for it
    assert rings["carol"].accept(rotation.bundle.to_bytes()).kind == "link"
    with pytest.raises(NotMemberError):
        rings["carol"].open(after)
    assert rings["bob"].open(after).plaintext == b"after"


def test_removing_an_admin_removes_it_from_the_admin_set() -> None:
    identities, _, room = _room(admins=["bob"])
    assert room.admins == ("alice", "bob")
    rotation = room.remove(["bob"])
    assert room.admins == ("alice",)
    assert rotation.bundle.header.admins == (("alice", identities["alice"].public.fingerprint),)


def test_membership_changes_that_are_refused_change_nothing() -> None:
    identities, rings, room = _room()
    view, state = _view(room), ring_state(rings["alice"])
    attempts: list[tuple[type[DomviaError], Callable[[], object]]] = [
        (PolicyError, lambda: room.add([identities["bob"].public])),
        (PolicyError, lambda: room.remove(["alice"])),
        (PolicyError, lambda: room.remove(["dave"])),
        (PolicyError, lambda: room.set_admins([])),
        (PolicyError, lambda: room.set_admins(["dave"])),
        (PolicyError, lambda: room.add([identities["dave"].public], share_history=[0])),
    ]
    for error, attempt in attempts:
        with pytest.raises(error):
            attempt()
        assert _view(room) == view and ring_state(rings["alice"]) == state


@pytest.mark.parametrize("share", [[1, 9], [5], [2]])
def test_sharing_an_epoch_that_is_not_past_is_a_policy_error(share: list[int]) -> None:
    identities, rings, room = _room()
    view, state = _view(room), ring_state(rings["alice"])
    with pytest.raises(PolicyError):
        room.add([identities["dave"].public], share_history=share)
    assert _view(room) == view and ring_state(rings["alice"]) == state


def test_a_failed_rotation_leaves_the_previous_epoch_in_force() -> None:
    """An X-Wing room cannot wrap to a joiner without a post-quantum key: nothing changes."""
    alice = fixed_identity("alice", post_quantum=True)
    ring = KeyRing(alice)
    room, _ = Room.create(ring, ROOM, [], kem=WrapKem.MLKEM768_X25519)
    view, state = _view(room), ring_state(ring)
    with pytest.raises(InvalidKeyError):
        room.add([fixed_identity("bob").public])
    assert _view(room) == view and ring_state(ring) == state
    assert room.rotate().epoch == 2


def test_a_failed_create_changes_nothing() -> None:
    alice = fixed_identity("alice", post_quantum=True)
    ring = KeyRing(alice)
    state = ring_state(ring)
    with pytest.raises(InvalidKeyError):
        Room.create(ring, ROOM, [fixed_identity("bob").public], kem=WrapKem.MLKEM768_X25519)
    assert ring_state(ring) == state


def test_rotate_keeps_members_and_every_epoch() -> None:
    _, rings, room = _room()
    for expected in (2, 3, 4):
        rotation = room.rotate()
        assert rotation.epoch == expected
        rings["bob"].accept(rotation.bundle.slice_for("bob"))
    assert rings["bob"].epochs(ROOM) == [1, 2, 3, 4]
    assert all(key_of(rings["bob"], ROOM, e) == key_of(rings["alice"], ROOM, e) for e in (1, 2, 3, 4))
    assert [rings["bob"].header(ROOM, e).previous for e in (2, 3, 4)] == [
        rings["bob"].header(ROOM, e).epoch_hash() for e in (1, 2, 3)]


def test_rotation_policy() -> None:
    _, rings, room = _room(policy=RoomPolicy(max_messages=3, max_age_seconds=100))
    issued = rings["alice"].header(ROOM, 1).issued_at
    assert room.rotation_due(now=issued) == ()
    assert room.rotation_due(now=issued + 100) == ("age",)
    for i in range(3):
        rings["alice"].seal(ROOM, b"x", message_id=f"m-{i}")
    assert room.rotation_due(now=issued) == ("messages",)
    assert room.rotation_due(now=issued + 1000) == ("messages", "age")
    room.rotate()
    assert room.rotation_due(now=rings["alice"].header(ROOM, 2).issued_at) == ()
    for bad in ((0, 1), (1, 0), (-1, 5), (1 << 32, 5)):
        with pytest.raises(FormatError):
            RoomPolicy(*bad)
    with pytest.raises(FormatError):
        RoomPolicy(members_may_rotate=1)  # type: ignore[arg-type]


def test_opened_messages_count_towards_rotation() -> None:
    _, rings, room = _room(policy=RoomPolicy(max_messages=2))
    for i in range(2):
        rings["alice"].open(rings["bob"].seal(ROOM, b"x", message_id=f"m-{i}"))
    assert "messages" in room.rotation_due()


# -- admins and policy ---------------------------------------------------------------------------


def test_set_admins_hands_rotation_to_another_member() -> None:
    identities, rings, room = _room()
    rotation = room.set_admins(["alice", "bob"])
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle)
    assert Room(rings["bob"], ROOM).admins == ("alice", "bob")
    by_bob = Room(rings["bob"], ROOM).remove(["alice"])
    assert by_bob.bundle.header.rotator_id == "bob" and by_bob.bundle.header.admins == (
        ("bob", identities["bob"].public.fingerprint),)
    assert rings["carol"].accept(by_bob.bundle).epochs == (3,)
    # alice is no admin of epoch 3 (nor a member): her later headers are refused
    rings["alice"].accept(by_bob.bundle.announcement().to_bytes())
    with pytest.raises(PolicyError):
        Room(rings["alice"], ROOM)


def test_only_an_admin_changes_the_room() -> None:
    _, rings, _ = _room()
    bobs = Room(rings["bob"], ROOM)  # bob holds the full roster of epoch 1: he can see the room
    for change in (bobs.rotate, lambda: bobs.set_admins(["bob"]), lambda: bobs.remove(["carol"]),
                   lambda: bobs.change_policy(policy=RoomPolicy(max_messages=1))):
        state = ring_state(rings["bob"])
        with pytest.raises(PolicyError):
            change()
        assert ring_state(rings["bob"]) == state


def test_change_policy_is_signed_and_seen_by_members() -> None:
    _, rings, room = _room()
    rotation = room.change_policy(policy=RoomPolicy(max_messages=10, members_may_rotate=True),
                                  suite=Suite.XCHACHA20_POLY1305)
    rings["bob"].accept(rotation.bundle)
    header = rings["bob"].header(ROOM)
    assert header.policy == RoomPolicy(max_messages=10, members_may_rotate=True)
    assert header.suite == Suite.XCHACHA20_POLY1305 and header.flags == Flag.MEMBERS_MAY_ROTATE
    assert rings["bob"].seal(ROOM, b"x").suite == Suite.XCHACHA20_POLY1305
    # now bob may rotate, keeping admins and policy
    bobs = Room(rings["bob"], ROOM).rotate()
    assert rings["alice"].accept(bobs.bundle).epochs == (3,)
    assert rings["alice"].header(ROOM).policy == header.policy


def test_downgrading_the_kem_is_explicit_and_signed() -> None:
    alice, bob = fixed_identity("alice", post_quantum=True), fixed_identity("bob", post_quantum=True)
    rings = {"alice": KeyRing(alice), "bob": KeyRing(bob)}
    rings["bob"].trust_admin(ROOM, alice.public)
    room, rotation = Room.create(rings["alice"], ROOM, [bob.public], kem=WrapKem.MLKEM768_X25519)
    rings["bob"].accept(rotation.bundle)
    state = ring_state(rings["alice"])
    with pytest.raises(PolicyError):
        room.change_policy(kem=WrapKem.X25519)
    assert ring_state(rings["alice"]) == state
    down = room.change_policy(kem=WrapKem.X25519, allow_downgrade=True)
    assert down.bundle.header.flags & Flag.DOWNGRADE and room.kem is WrapKem.X25519
    rings["bob"].accept(down.bundle)
    assert rings["bob"].header(ROOM).kem is WrapKem.X25519
    # the flag is set only for that rotation; going back up needs none
    up = room.change_policy(kem=WrapKem.MLKEM768_X25519)
    assert not up.bundle.header.flags & Flag.DOWNGRADE
    rings["bob"].accept(up.bundle)


def test_a_downgrade_without_the_flag_is_refused() -> None:
    alice, bob = fixed_identity("alice", post_quantum=True), fixed_identity("bob", post_quantum=True)
    ring = KeyRing(bob)
    ring.trust_admin(ROOM, alice.public)
    _, rotation = Room.create(KeyRing(alice), ROOM, [bob.public], kem=WrapKem.MLKEM768_X25519)
    ring.accept(rotation.bundle)
    key = RoomKey.generate(room_id=ROOM, epoch=2)
    silent = forge_bundle(alice, key, [alice.public, bob.public], **next_after(ring, ROOM))
    state = ring_state(ring)
    with pytest.raises(DowngradeError):
        ring.accept(silent.to_bytes())
    flagged_without_lowering = forge_bundle(alice, key, [alice.public, bob.public], kem=WrapKem.MLKEM768_X25519,
                                            flags=Flag.DOWNGRADE, **next_after(ring, ROOM))
    with pytest.raises(DowngradeError):
        ring.accept(flagged_without_lowering.to_bytes())
    assert ring_state(ring) == state
    flagged = forge_bundle(alice, key, [alice.public, bob.public], flags=Flag.DOWNGRADE, **next_after(ring, ROOM))
    assert ring.accept(flagged.to_bytes()).epochs == (2,)


# -- the room is derived from the key ring ----------------------------------------------------------


def test_the_room_comes_back_from_the_key_ring_alone() -> None:
    """No room state file: a restarted process (or another device of the admin) rebuilds the Room
    from the newest epoch its key ring holds."""
    identities, rings, room = _room()
    first = room.add([identities["dave"].public])
    rings["bob"].accept(first.bundle)
    ring = keyring_from_plaintext(json.loads(json.dumps(keyring_to_plaintext(rings["alice"]))), identities["alice"])
    again = Room(ring, ROOM)
    assert _view(again) == _view(room)
    assert again.members == room.members
    rotation = again.remove(["dave"])
    assert rotation.epoch == 3
    assert rings["bob"].accept(rotation.bundle.to_bytes()).epochs == (3,)
    # the old Room object is not the state: it follows its own key ring, which holds epoch 2 only
    assert room.epoch == 2 and rings["alice"].latest_epoch(ROOM) == 2


def test_a_room_needs_its_newest_key_and_full_roster() -> None:
    _, rings, room = _room()
    with pytest.raises(PolicyError):
        Room(rings["dave"], ROOM)  # not held
    rotation = room.rotate()
    rings["bob"].accept(rotation.bundle.slice_for("bob"))
    with pytest.raises(PolicyError):
        Room(rings["bob"], ROOM)  # a slice: no full roster
    rings["bob"].accept(rotation.bundle)
    assert Room(rings["bob"], ROOM).epoch == 2
    with pytest.raises(FormatError):
        Room(rings["bob"], "not a room id")


def test_a_member_of_an_admin_rotated_room_cannot_rotate_through_its_room_object() -> None:
    _, rings, room = _room()
    state = ring_state(rings["carol"])
    with pytest.raises(PolicyError):
        Room(rings["carol"], ROOM).rotate()
    assert ring_state(rings["carol"]) == state
    assert room.rotate().epoch == 2


def test_members_rotate_only_where_the_policy_says_so() -> None:
    _, rings, _ = _room(policy=RoomPolicy(members_may_rotate=True))
    rotation = Room(rings["carol"], ROOM).rotate()
    assert rotation.bundle.signed.authority is not None
    assert rings["bob"].accept(rotation.bundle.slice_for("bob")).epochs == (2,)
    assert rings["alice"].accept(rotation.bundle).epochs == (2,)
    # a member may not change who governs the room: its own key ring refuses the epoch, changing nothing
    state = ring_state(rings["carol"])
    with pytest.raises((PolicyError, UnauthorizedError)):
        Room(rings["carol"], ROOM).set_admins(["carol"])
    assert ring_state(rings["carol"]) == state
    assert Room(rings["alice"], ROOM).epoch == 2


def test_a_forged_rotation_by_a_member_is_unauthorised_for_everyone() -> None:
    identities, rings, _ = _room()
    forged = forge_bundle(identities["carol"], RoomKey.generate(room_id=ROOM, epoch=2),
                          [identities[n].public for n in ("alice", "bob", "carol")], **next_after(rings["bob"], ROOM))
    for name in ("alice", "bob"):
        state = ring_state(rings[name])
        with pytest.raises(UnauthorizedError):
            rings[name].accept(forged.to_bytes())
        assert ring_state(rings[name]) == state
