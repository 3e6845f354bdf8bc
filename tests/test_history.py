"""History bundles: a joiner reads earlier epochs only when a member shares them on purpose."""

from __future__ import annotations

import dataclasses

import pytest
from core_helpers import ROOM, assert_unchanged, fixed_identity, seed, world

from domvia_e2ee import (
    AuthenticationError, DomviaError, FormatError, HistoryBundle, Identity, KeyRing, NotRecipientError, PolicyError,
    Room, RoomKey, SealedMessage, UnauthorizedError, UnknownKeyError, UnknownSenderError, WrapKem, labels,
)
from domvia_e2ee.history import build_history

NAMES = ("alice", "bob", "dave", "eve")


def _three_epochs() -> tuple[dict[str, Identity], dict[str, KeyRing], Room, dict[int, SealedMessage]]:
    """alice and bob chat through epochs 1-3; dave and eve are known outsiders."""
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public])
    rings["bob"].accept(rotation.bundle.to_bytes())
    sent = {1: rings["bob"].seal(ROOM, b"epoch one", message_id="m-1")}
    for epoch in (2, 3):
        rings["bob"].accept(room.rotate().bundle.to_bytes())
        sent[epoch] = rings["bob"].seal(ROOM, f"epoch {epoch}".encode(), message_id=f"m-{epoch}")
    return identities, rings, room, sent


def test_shared_epochs_only_are_readable() -> None:
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    dave = rings["dave"]
    dave.accept(rotation.bundle.to_bytes())
    history = rotation.history["dave"]
    accepted = dave.accept(HistoryBundle.from_bytes(history.to_bytes()).to_bytes())
    assert (accepted.epochs, accepted.kind) == ((2,), "history")
    assert dave.epochs(ROOM) == [2, 4]
    assert dave.open(sent[2]).plaintext == b"epoch 2"  # signed by bob: the shared roster lists him
    for epoch in (1, 3):
        with pytest.raises(UnknownKeyError):
            dave.open(sent[epoch])
    after = rings["bob"]
    after.accept(rotation.bundle.to_bytes())
    assert dave.open(after.seal(ROOM, b"welcome", message_id="m-4")).plaintext == b"welcome"


def test_without_history_a_joiner_reads_nothing_earlier() -> None:
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public])
    assert rotation.history == {}
    rings["dave"].accept(rotation.bundle.to_bytes())
    assert rings["dave"].epochs(ROOM) == [4]
    for sealed in sent.values():
        with pytest.raises(UnknownKeyError):
            rings["dave"].open(sealed)


def test_several_epochs_shared() -> None:
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[1, 3])
    rings["dave"].accept(rotation.bundle)
    assert rings["dave"].accept(rotation.history["dave"]).epochs == (1, 3)
    assert [rings["dave"].open(sent[e]).plaintext for e in (1, 3)] == [b"epoch one", b"epoch 3"]
    with pytest.raises(UnknownKeyError):
        rings["dave"].open(sent[2])


def test_history_before_its_anchor_epoch_is_unknown_key_and_changes_nothing() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    assert_unchanged(rings["dave"], UnknownKeyError, rings["dave"].accept, rotation.history["dave"].to_bytes())
    rings["dave"].accept(rotation.bundle)
    assert rings["dave"].accept(rotation.history["dave"]).epochs == (2,)


def test_history_for_someone_else_is_refused() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public, identities["eve"].public], share_history=[2])
    rings["eve"].accept(rotation.bundle)
    assert_unchanged(rings["eve"], NotRecipientError, rings["eve"].accept, rotation.history["dave"])
    # and relabelling the recipient breaks the signature (the wraps are bound to dave anyway)
    relabelled = dataclasses.replace(rotation.history["dave"], recipient_id="eve")
    assert_unchanged(rings["eve"], AuthenticationError, rings["eve"].accept, relabelled.to_bytes())


def test_history_from_a_non_member_or_with_a_bad_signature_is_refused() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    dave = rings["dave"]
    dave.accept(rotation.bundle)
    key, roster = rings["alice"].key(ROOM, 2), sorted(rings["alice"].record(ROOM, 2).roster.items())  # type: ignore[union-attr]
    forged = build_history(identities["eve"], identities["dave"].public, [(key, roster)], anchor_epoch=4,
                           kem=WrapKem.X25519, issued_at=0, proof=None)
    assert_unchanged(dave, UnauthorizedError, dave.accept, forged.to_bytes())
    zed = fixed_identity("zed")
    unknown = build_history(zed, identities["dave"].public, [(key, roster)], anchor_epoch=4, kem=WrapKem.X25519,
                            issued_at=0, proof=None)
    assert_unchanged(dave, UnknownSenderError, dave.accept, unknown.to_bytes())
    genuine = rotation.history["dave"]
    assert_unchanged(dave, AuthenticationError, dave.accept, dataclasses.replace(genuine, signature=bytes(64)))
    assert_unchanged(dave, AuthenticationError, dave.accept, dataclasses.replace(genuine, issued_at=1))
    assert_unchanged(dave, AuthenticationError, dave.accept, dataclasses.replace(genuine, sharer_id="bob"))


def test_a_member_of_the_anchor_epoch_may_share() -> None:
    """bob is no admin; his authority is his membership of the epoch dave joined in."""
    identities, rings, room, sent = _three_epochs()
    rotation = room.add([identities["dave"].public])
    for name in ("bob", "dave"):
        rings[name].accept(rotation.bundle)
    bob = rings["bob"]
    shared = build_history(identities["bob"], identities["dave"].public,
                           [(bob.key(ROOM, 3), sorted(bob.record(ROOM, 3).roster.items()))],  # type: ignore[union-attr]
                           anchor_epoch=4, kem=WrapKem.X25519, issued_at=0,
                           proof=rotation.bundle.proof_for("bob"))
    assert rings["dave"].accept(shared).epochs == (3,)
    assert rings["dave"].open(sent[3]).plaintext == b"epoch 3"


def test_a_tampered_or_substituted_entry_is_refused() -> None:
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public], share_history=[2])
    dave = rings["dave"]
    dave.accept(rotation.bundle)
    genuine = rotation.history["dave"]
    entry = genuine.entries[0]
    flipped = entry.wrapped[:-1] + bytes((entry.wrapped[-1] ^ 1,))
    for bad in (dataclasses.replace(entry, wrapped=flipped), dataclasses.replace(entry, key_id=bytes(32)),
                dataclasses.replace(entry, epoch=1)):
        resigned = _resign(identities["alice"], dataclasses.replace(genuine, entries=(bad,)))
        assert_unchanged(dave, AuthenticationError, dave.accept, resigned.to_bytes())


def test_an_entry_for_a_held_epoch_must_carry_its_key() -> None:
    """A sharer cannot swap the key of an epoch the joiner already holds."""
    identities, rings, room, _ = _three_epochs()
    rotation = room.add([identities["dave"].public])
    dave = rings["dave"]
    dave.accept(rotation.bundle)
    fake = RoomKey(seed("fake"), room_id=ROOM, epoch=4)
    assert fake != dave.key(ROOM, 4)
    bad = build_history(identities["alice"], identities["dave"].public, [(fake, [("alice", bytes(32))])],
                        anchor_epoch=5, kem=WrapKem.X25519, issued_at=0, proof=None)
    dave.accept(room.rotate().bundle)  # the admin signs, so only the key check can refuse it
    assert_unchanged(dave, AuthenticationError, dave.accept, bad.to_bytes())


def _resign(sharer: Identity, history: HistoryBundle) -> HistoryBundle:
    return dataclasses.replace(history, signature=sharer.sign(labels.SIG_HISTORY + history.body()))


def test_room_refuses_to_share_what_it_does_not_hold_and_stays_put() -> None:
    identities, _, room, _ = _three_epochs()
    before = room.to_dict()
    for epochs in ([9], [4], [0]):
        with pytest.raises(DomviaError):
            room.add([identities["dave"].public], share_history=epochs)
        assert room.to_dict() == before
    with pytest.raises(PolicyError):
        room.add([identities["bob"].public])


def test_history_bytes_round_trip_and_strict_parsing() -> None:
    identities, _, room, _ = _three_epochs()
    history = room.add([identities["dave"].public], share_history=[1, 2]).history["dave"]
    data = history.to_bytes()
    assert HistoryBundle.from_bytes(data) == history

    def fail(raw: bytes, field: str) -> None:
        with pytest.raises(FormatError) as info:
            HistoryBundle.from_bytes(raw)
        assert info.value.field == field, info.value

    fail(data + b"\x00", "trailing data")
    fail(b"DVB\x01" + data[4:], "magic")
    fail(data[:-1], "proof" if history.proof is None else "proof.path")
    unordered = _resign(identities["alice"], dataclasses.replace(history, entries=history.entries[::-1]))
    fail(unordered.to_bytes(), "entries")
    late = dataclasses.replace(history, anchor_epoch=2)
    fail(late.to_bytes(), "entries")
    empty = dataclasses.replace(history, entries=())
    fail(empty.to_bytes(), "entry_count")
    entry = history.entries[0]
    unsorted_roster = dataclasses.replace(entry, roster=entry.roster[::-1])
    if len(entry.roster) > 1:
        fail(dataclasses.replace(history, entries=(unsorted_roster, history.entries[1])).to_bytes(), "entry.roster")
    fail(dataclasses.replace(history, entries=(dataclasses.replace(entry, wrapped=b"x"),)).to_bytes(),
         "entry.wrapped_key")
