"""Room and key ring export edge cases found in review: what a rotator can share, what a file can hold."""

from __future__ import annotations

import pytest

from domvia_e2ee import FormatError, Identity, KeyRing, PolicyError, Room, keyring_from_plaintext, keyring_to_plaintext


def _room() -> tuple[Room, dict[str, Identity], KeyRing]:
    people = {n: Identity.generate(n) for n in ("alice", "bob", "dave")}
    ring = KeyRing(people["alice"])
    room, _ = Room.create(ring, "room-1", [people["bob"].public])
    room.rotate()
    room.rotate()
    return room, people, ring


@pytest.mark.parametrize("epochs", [[4], [5], [0], [1, 9]])
def test_only_past_epochs_can_be_shared(epochs: list[int]) -> None:
    room, people, ring = _room()
    before = keyring_to_plaintext(ring)
    with pytest.raises(PolicyError, match="only past epochs"):
        room.add([people["dave"].public], share_history=epochs)
    assert keyring_to_plaintext(ring) == before and room.epoch == 3


def test_the_epochs_between_go_as_links_only() -> None:
    room, people, _ = _room()
    rotation = room.add([people["dave"].public], share_history=[1, 3])
    history = rotation.history["dave"]
    assert [(e.header.epoch, bool(e.wrapped)) for e in history.entries] == [(1, True), (2, False), (3, True)]
    dave = KeyRing(people["dave"])
    dave.trust_admin("room-1", people["alice"].public)
    dave.accept(rotation.bundle.to_bytes())
    dave.accept(history.to_bytes())
    assert [dave.record("room-1", e).key is not None for e in (1, 2, 3, 4)] == [True, False, True, True]


def test_a_file_with_an_invalid_pinned_identity_is_a_format_error() -> None:
    _, _, ring = _room()
    data = keyring_to_plaintext(ring)
    data["directory"][1]["sig"]["x"] = "AQ" + "A" * 41  # a small-order Ed25519 key (the identity point)
    with pytest.raises(FormatError):
        keyring_from_plaintext(data, ring.owner)


def test_opening_something_that_is_no_message_is_a_usage_error() -> None:
    from domvia_e2ee import UsageError

    _, _, ring = _room()
    with pytest.raises(UsageError) as error:
        ring.open(12345)  # type: ignore[arg-type]
    assert error.value.code == "E_USAGE"
