"""Attack: a wrapped key meant for Alice is offered to Bob (or moved to another context).

Sources: key-share misbinding: Albrecht, Celi, Dowling and Jones, "Practically-exploitable
Cryptographic Vulnerabilities in Matrix" (IEEE S&P 2023, disclosed 2022), where key shares were not
bound to who they were for and where they came from; the general unknown-key-share and
recipient-binding concerns behind HPKE's `info` parameter (RFC 9180).

Why it fails here: each room key is wrapped with HPKE base mode to one recipient's X25519 (or
X-Wing) key, with an info that binds the label (rotation or history), KEM, suite, room, epoch, key id
and the recipient id (wrap.wrap_info). Another recipient lacks the private key; a recipient with
the same key pair under another id (a reused key) computes another info; a different room, epoch or
purpose does too. Inside a bundle the member tree binds each leaf's id, fingerprint and wrapped key
under the signed root, and a key ring accepts only the leaf listed under its own id and fingerprint.
"""

from __future__ import annotations

import dataclasses

import pytest

from core_helpers import forge_bundle, next_after

from domvia_e2ee import Identity, PublicIdentity
from domvia_e2ee.group.members import Member
from domvia_e2ee.labels import INFO_HISTORY_WRAP, INFO_WRAP
from domvia_e2ee.wrap import WrapKem, unwrap, wrap

from .scenario import ROOM, error_code, held_key, identity, publics, room_key, scenario, signed_bundle, state


def _unwrap_as(owner: Identity, wrapped: bytes, *, kem: WrapKem = WrapKem.X25519, label: bytes = INFO_WRAP,
               room_id: str = ROOM, epoch: int = 2) -> str:
    key = room_key(2)
    return error_code(unwrap, owner, wrapped, kem=kem, suite=key.suite, room_id=room_id, epoch=epoch,
                      key_id=key.key_id, label=label)


def test_wrapped_for_alice_does_not_unwrap_for_bob() -> None:
    alice, bob = identity("alice"), identity("bob")
    for_alice = wrap(room_key(2), alice.public, WrapKem.X25519)
    assert _unwrap_as(bob, for_alice) == "E_AUTH"


def test_same_key_pair_under_another_id_does_not_unwrap() -> None:
    """A client that reuses one X25519 key for two ids: the recipient id in the info still tells them apart."""
    alice = identity("alice")
    alias = Identity("alice-2", x25519_private=alice._x25519_private(), ed25519_seed=bytes(32))
    for_alice = wrap(room_key(2), alice.public, WrapKem.X25519)
    assert _unwrap_as(alias, for_alice) == "E_AUTH"


@pytest.mark.parametrize("context", ["room", "epoch", "history"])
def test_wrapped_key_moved_to_another_context(context: str) -> None:
    alice = identity("alice")
    for_alice = wrap(room_key(2), alice.public, WrapKem.X25519)
    changed = {"room": {"room_id": "room-2"}, "epoch": {"epoch": 3}, "history": {"label": INFO_HISTORY_WRAP}}
    assert _unwrap_as(alice, for_alice, **changed[context]) == "E_AUTH"


def test_post_quantum_wrap_is_bound_to_its_recipient_too() -> None:
    alice, bob = identity("alice", post_quantum=True), identity("bob", post_quantum=True)
    for_alice = wrap(room_key(2), alice.public, WrapKem.MLKEM768_X25519)
    assert _unwrap_as(bob, for_alice, kem=WrapKem.MLKEM768_X25519) == "E_AUTH"
    assert unwrap(alice, for_alice, kem=WrapKem.MLKEM768_X25519, suite=room_key(2).suite, room_id=ROOM, epoch=2,
                  key_id=room_key(2).key_id) == room_key(2)


def test_slice_for_alice_offered_to_bob() -> None:
    s = scenario()
    bundle = s.room.rotate().bundle
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, bundle.slice_for("carol").to_bytes()) == "E_NOT_RECIPIENT"
    # The entry relabelled with bob's id and keys: the path is for carol's leaf.
    carol_leaf = bundle.slice_for("carol")
    relabelled = dataclasses.replace(carol_leaf, member=Member.make(s.people["bob"].public, carol_leaf.member.wrapped))
    assert error_code(s.rings["bob"].accept, relabelled.to_bytes()) == "E_AUTH"
    assert state(s.rings["bob"]) == before


def test_rotator_puts_alices_wrapped_key_in_bobs_leaf() -> None:
    """A rotator signs a tree in which bob's leaf carries the key wrapped to carol: bob cannot open it."""
    s = scenario()
    key = room_key(2)
    members = publics(s, "alice", "bob", "carol")
    wrapped = {p.participant_id: wrap(key, p, WrapKem.X25519) for p in members}
    wrapped["bob"] = wrapped["carol"]
    bundle = signed_bundle(s.people["alice"], key, members, [wrapped[p.participant_id] for p in members],
                           chain=s.rings["alice"])
    assert error_code(s.rings["bob"].accept, bundle.to_bytes()) == "E_AUTH"
    s.deliver(bundle, "carol")
    assert held_key(s.rings["carol"], 2) == key


def test_leaf_listed_under_another_fingerprint() -> None:
    """bob's id with someone else's keys (so another fingerprint): the entry is not for the bob this ring is."""
    s = scenario()
    key = room_key(2)
    mallory = s.people["mallory"].public
    fake_bob = PublicIdentity("bob", x25519=mallory.x25519, ed25519=mallory.ed25519)
    members = [s.people["alice"].public, fake_bob, s.people["carol"].public]
    bundle = forge_bundle(s.people["alice"], key, members, **next_after(s.rings["alice"], ROOM))
    assert error_code(s.rings["bob"].accept, bundle.to_bytes()) == "E_NOT_RECIPIENT"
    assert error_code(s.rings["bob"].accept, bundle.slice_for("bob").to_bytes()) == "E_NOT_RECIPIENT"


def test_history_for_dave_offered_to_bob() -> None:
    s = scenario()
    rotation = s.room.add([s.people["dave"].public], share_history=[1])
    s.deliver(rotation.bundle, "bob", "dave")
    history = rotation.history["dave"]
    assert error_code(s.rings["bob"].accept, history.to_bytes()) == "E_NOT_RECIPIENT"
    entry = history.entries[0]
    header = entry.header
    assert error_code(unwrap, s.people["bob"], entry.wrapped, kem=history.kem, suite=header.suite, room_id=ROOM,
                      epoch=header.epoch, key_id=header.key_id, label=INFO_HISTORY_WRAP) == "E_AUTH"
    assert s.rings["dave"].accept(history.to_bytes()).epochs == (1,)
