"""A failure at any point of a rotation loses neither the old epoch nor the new one (library level).

Each test injects an exception into one step of Room.rotate/add/remove: key generation, wrapping
(on the first recipient and half-way through), the member tree, signing, the key ring's own
acceptance (unwrap, commit), the member proof, history wrapping, and the steps after the commit.
A failure before the commit point must leave the room and the key ring exactly as they were (still
sealing and opening in the old epoch), and a retried rotation must then work for every member. A
failure after it must leave room and key ring agreeing on the new epoch. The CLI's file-level
crash safety (pending state, atomic writes) is tested with the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from domvia_e2ee import Identity, KeyRing, Room, RoomKey, keyring_from_plaintext, keyring_to_plaintext
from domvia_e2ee.group import bundle, history, keyring, room, verify
from domvia_e2ee.hazmat import hpke

ROOM_ID = "room-1"
NAMES = ("alice", "bob", "carol", "dave")


class Injected(Exception):
    """The fault: raised by the patched step."""


def _people() -> dict[str, Identity]:
    return {n: Identity(n, x25519_private=bytes([i + 1]) * 32, ed25519_seed=bytes([i + 101]) * 32)
            for i, n in enumerate(NAMES)}


def _world(*, alice_knows_dave: bool = True) -> tuple[Room, dict[str, KeyRing], dict[str, Identity]]:
    people = _people()
    rings = {n: KeyRing(p) for n, p in people.items()}
    for ring in rings.values():
        for p in people.values():
            if p is not ring.owner and (alice_knows_dave or (ring.owner.participant_id, p.participant_id)
                                        != ("alice", "dave")):
                ring.add_identity(p.public)
        ring.trust_admin(ROOM_ID, people["alice"].public)
    the_room, rotation = Room.create(rings["alice"], ROOM_ID, [people["bob"].public, people["carol"].public])
    for n in ("bob", "carol"):
        rings[n].accept(rotation.bundle.to_bytes())
    return the_room, rings, people


def _snapshot(the_room: Room) -> tuple[str, str]:
    view = {"epoch": the_room.epoch, "members": sorted(the_room.members), "admins": the_room.admins}
    return json.dumps(view, sort_keys=True), json.dumps(keyring_to_plaintext(the_room.keyring), sort_keys=True)


def _fail_on_call(number: int, original: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper that raises on its number-th call (1-based) and passes the others through."""
    calls = [0]

    def patched(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == number:
            raise Injected(f"fault injected at call {number}")
        return original(*args, **kwargs)

    return patched


# Steps before the commit point: (target object, attribute, which call fails). Each test checks
# that the fault fired, so a step a rotation no longer reaches fails its test instead of passing.
BEFORE_COMMIT = {
    "generate the key": (RoomKey, "generate", 1),
    "wrap to the first member": (hpke, "seal_base", 1),
    "wrap half-way": (hpke, "seal_base", 2),
    "build the member tree": (bundle.merkle, "Tree", 1),
    "sign the header": (Identity, "sign", 1),
    "member proof": (bundle.Bundle, "proof_for", 1),
    "own acceptance: unwrap": (verify, "unwrap", 1),
    "own acceptance: commit": (keyring.KeyRing, "_commit", 1),
}
CHANGES: dict[str, Callable[[Room, dict[str, Identity]], Any]] = {
    "rotate": lambda r, p: r.rotate(),
    "remove": lambda r, p: r.remove(["carol"]),
    "add": lambda r, p: r.add([p["dave"].public]),
    "add with history": lambda r, p: r.add([p["dave"].public], share_history=[1]),
}


def _still_usable(the_room: Room, rings: dict[str, KeyRing], epoch: int) -> None:
    """The owner seals in the expected epoch and a member of that epoch reads it."""
    message = rings["alice"].seal(ROOM_ID, b"still here", message_id=f"check-{epoch}")
    assert message.epoch == epoch == the_room.epoch == rings["alice"].latest_epoch(ROOM_ID)
    assert rings["bob"].open(message).plaintext == b"still here"


def _retry_works(the_room: Room, rings: dict[str, KeyRing], people: dict[str, Identity],
                 change: Callable[[Room, dict[str, Identity]], Any]) -> None:
    before = the_room.epoch
    rotation = change(the_room, people)
    assert the_room.epoch == before + 1 == rings["alice"].latest_epoch(ROOM_ID)
    for member in rotation.bundle.members:
        if member.participant_id != "alice":
            rings[member.participant_id].accept(rotation.bundle.to_bytes())
    for name, shared in rotation.history.items():
        assert rings[name].accept(shared.to_bytes()).epochs
    _still_usable(the_room, rings, before + 1)


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("step", list(BEFORE_COMMIT))
def test_fault_before_the_commit_changes_nothing(step: str, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    the_room, rings, people = _world()
    before = _snapshot(the_room)
    target, name, number = BEFORE_COMMIT[step]
    with monkeypatch.context() as patch:
        patch.setattr(target, name, _fail_on_call(number, getattr(target, name)))
        with pytest.raises(Injected):
            CHANGES[change](the_room, people)
    assert _snapshot(the_room) == before
    _still_usable(the_room, rings, 1)
    _retry_works(the_room, rings, people, CHANGES[change])


@pytest.mark.parametrize("change", ["add with history"])
def test_fault_while_wrapping_history_changes_nothing(change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """History is wrapped for the joiner before the rotation is committed, so losing it loses nothing."""
    the_room, rings, people = _world()
    before = _snapshot(the_room)
    with monkeypatch.context() as patch:
        patch.setattr(room, "build_history", _fail_on_call(1, history.build_history))
        with pytest.raises(Injected):
            CHANGES[change](the_room, people)
    assert _snapshot(the_room) == before
    _retry_works(the_room, rings, people, CHANGES[change])


def test_fault_in_the_clock_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    the_room, rings, people = _world()
    before = _snapshot(the_room)
    with monkeypatch.context() as patch:
        patch.setattr(room.time, "time", _fail_on_call(1, room.time.time))
        with pytest.raises(Injected):
            the_room.rotate()
    assert _snapshot(the_room) == before
    _retry_works(the_room, rings, people, CHANGES["rotate"])


def test_fault_after_the_commit_leaves_one_consistent_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pinning the members' identities comes after the key ring committed the new epoch: a fault
    there leaves room and key ring agreeing on that epoch (the Room is derived from the key ring),
    and the next rotation works."""
    the_room, rings, people = _world(alice_knows_dave=False)
    with monkeypatch.context() as patch:
        patch.setattr(keyring.KeyRing, "add_identity", _fail_on_call(1, keyring.KeyRing.add_identity))
        with pytest.raises(Injected):
            the_room.add([people["dave"].public])
    assert the_room.epoch == rings["alice"].latest_epoch(ROOM_ID) == 2
    assert set(the_room.members) == {"alice", "bob", "carol", "dave"}
    # The state saved now loads back into one room at one epoch.
    reloaded = keyring_from_plaintext(keyring_to_plaintext(rings["alice"]), people["alice"])
    assert Room(reloaded, ROOM_ID).epoch == 2 and set(Room(reloaded, ROOM_ID).members) == set(the_room.members)
    # The bundle was lost with the fault; the members keep the chain from the admin's announcement of
    # epoch 2 (a link: no key), and the next rotation gives everyone a key again.
    announcement = rings["alice"].record(ROOM_ID, 2).announcement()
    assert announcement is not None
    for name in ("bob", "carol"):
        assert rings[name].accept(announcement).kind == "link"
    _retry_works(the_room, rings, people, CHANGES["rotate"])
