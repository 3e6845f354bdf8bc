"""Attack: the relay or the server injects a bundle, adds a member, or replays an old bundle (rollback).

Sources: Albrecht, Celi, Dowling and Jones, "Practically-exploitable Cryptographic Vulnerabilities in
Matrix" (IEEE S&P 2023, disclosed 2022): group membership was controlled by the homeserver, so a
malicious server could add a device of its own to a room and be sent the room keys. Rösler, Mainka
and Schwenk, "More is Less: On the End-to-End Security of Group Chats in Signal, WhatsApp, and
Threema" (EuroS&P 2018): WhatsApp's group management messages were not authenticated end to end, so
the server could add members to a group on its own.

Why it fails here: a bundle is signed by its rotator, and a key ring accepts it only from a room admin
it trusts or from a member of the epoch before (spec/bundle.md). The member-tree root is in the signed
header, so a leaf added, removed or changed breaks the signature. An epoch not newer than the latest
held is stale (E_STALE), so an old bundle cannot roll a member back. The server can publish identities,
but a key ring refuses a changed identity for a known participant unless told to replace it.
"""

from __future__ import annotations

import dataclasses

import pytest

from domvia_e2ee import DomviaError, Identity, Slice
from domvia_e2ee.bundle import Bundle, Member, MembershipProof, build_bundle
from domvia_e2ee.hazmat import merkle
from domvia_e2ee.history import build_history

from .scenario import ROOM, error_code, room_key, scenario, state


def test_bundle_signed_by_an_unknown_party_is_refused() -> None:
    s = scenario()
    mallory = s.people["mallory"]
    forged = build_bundle(mallory, room_key(2), [p.public for p in s.people.values()], kem=s.room.kem,
                          issued_at=0, proof=None)
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_UNKNOWN_SENDER"
    assert state(s.rings["bob"]) == before


def test_server_published_identity_does_not_give_authority() -> None:
    """Even once the server has made bob learn mallory's identity, she is neither admin nor member."""
    s = scenario()
    mallory = s.people["mallory"]
    s.rings["bob"].add_identity(mallory.public)
    forged = build_bundle(mallory, room_key(2), [p.public for p in s.people.values()], kem=s.room.kem,
                          issued_at=0, proof=None)
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_UNAUTHORIZED"
    # A membership proof of her own making verifies against a tree she built, not epoch 1's root.
    fake_tree = merkle.Tree([Member("mallory", mallory.public.fingerprint, b"w").leaf()])
    proof = MembershipProof(bytes(32), 0, tuple(fake_tree.path(0)))
    with_proof = build_bundle(mallory, room_key(2), [p.public for p in s.people.values()], kem=s.room.kem,
                              issued_at=0, proof=proof)
    assert error_code(s.rings["bob"].accept, with_proof.to_bytes()) == "E_UNAUTHORIZED"
    assert s.rings["bob"].epochs(ROOM) == [1]


def test_server_cannot_add_a_member_to_a_genuine_bundle() -> None:
    s = scenario()
    genuine = s.room.rotate().bundle
    mallory = s.people["mallory"]
    extra = Member("mallory", mallory.public.fingerprint, genuine.members[0].wrapped)
    members = tuple(sorted((*genuine.members, extra), key=lambda m: m.participant_id.encode()))
    # Leaves added with the signed header kept: the tree no longer matches the signed root.
    tampered = dataclasses.replace(genuine, members=members,
                                   header=dataclasses.replace(genuine.header, member_count=len(members)))
    assert error_code(s.rings["bob"].accept, tampered.to_bytes()) == "E_AUTH"
    # The header re-rooted to the new tree: the signature no longer covers it.
    rerooted = dataclasses.replace(tampered, header=dataclasses.replace(
        tampered.header, root=merkle.Tree([m.leaf() for m in members]).root))
    assert error_code(s.rings["bob"].accept, rerooted.to_bytes()) == "E_AUTH"
    assert s.rings["bob"].epochs(ROOM) == [1]
    s.deliver(genuine, "bob")
    assert s.rings["bob"].epochs(ROOM) == [1, 2]


def test_server_cannot_drop_a_member_from_a_genuine_bundle() -> None:
    s = scenario()
    genuine = s.room.rotate().bundle
    without_carol = tuple(m for m in genuine.members if m.participant_id != "carol")
    tampered = dataclasses.replace(genuine, members=without_carol,
                                   header=dataclasses.replace(genuine.header, member_count=len(without_carol)))
    assert error_code(s.rings["bob"].accept, tampered.to_bytes()) == "E_AUTH"


@pytest.mark.parametrize("field", ["room_id", "epoch", "key_id", "rotator_id", "issued_at"])
def test_any_change_to_the_signed_header_is_refused(field: str) -> None:
    s = scenario()
    genuine = s.room.rotate().bundle
    header = genuine.header
    changed = {"room_id": "room-2", "epoch": 3, "key_id": bytes(32), "rotator_id": "carol",
               "issued_at": header.issued_at + 1}[field]
    tampered = dataclasses.replace(genuine, header=dataclasses.replace(header, **{field: changed}))
    before = state(s.rings["bob"])
    # A bundle for epoch 3 needs epoch 2 (not held) or an admin: alice is one, so the signature decides.
    # carol is a member of epoch 1, so a bundle relabelled as hers is stopped by the signature too.
    assert error_code(s.rings["bob"].accept, tampered.to_bytes()) == "E_AUTH"
    assert state(s.rings["bob"]) == before


def test_old_bundle_replayed_is_stale_and_changes_nothing() -> None:
    s = scenario()
    second = s.room.rotate().bundle
    s.deliver(second, "bob")
    before = state(s.rings["bob"])
    for old in (s.bundles[1], second):
        assert error_code(s.rings["bob"].accept, old.to_bytes()) == "E_STALE"
        assert error_code(s.rings["bob"].accept, old.slice_for("bob").to_bytes()) == "E_STALE"
    assert state(s.rings["bob"]) == before
    # The current epoch stays the one bob seals under.
    assert s.rings["bob"].seal(ROOM, b"still epoch 2", message_id="m-1").epoch == 2


def test_rollback_by_an_epoch_skipped_is_stale() -> None:
    """bob missed epoch 2 and holds 3: a genuine epoch-2 bundle arriving late is refused, not installed."""
    s = scenario()
    second = s.room.rotate().bundle
    third = s.room.rotate().bundle
    s.deliver(third, "bob")  # alice is an admin, so bob accepts epoch 3 without holding epoch 2
    assert error_code(s.rings["bob"].accept, second.to_bytes()) == "E_STALE"
    assert s.rings["bob"].epochs(ROOM) == [1, 3]


def test_forged_slice_path_is_refused() -> None:
    s = scenario()
    genuine = s.room.rotate().bundle.slice_for("bob")
    forged = dataclasses.replace(genuine, path=tuple(bytes(32) for _ in genuine.path))
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_AUTH"
    wrong_index = dataclasses.replace(genuine, index=genuine.index ^ 1)
    assert error_code(s.rings["bob"].accept, wrong_index.to_bytes()) == "E_AUTH"


def test_server_substituted_leaf_in_a_slice_is_refused() -> None:
    """The server swaps bob's leaf in a genuine slice for one carrying a key it chose and wrapped to bob."""
    s = scenario()
    genuine = s.room.rotate().bundle
    own = build_bundle(s.people["mallory"], room_key(2, label="server"), [s.people["bob"].public],
                       kem=s.room.kem, issued_at=0, proof=None)
    piece = dataclasses.replace(genuine.slice_for("bob"), member=own.members[0])
    assert error_code(s.rings["bob"].accept, piece.to_bytes()) == "E_AUTH"


def test_server_cannot_inject_a_key_share() -> None:
    """Matrix's key-share path: a history bundle (past keys shared with a joiner) must come from
    an authorised member, for the recipient named in it."""
    s = scenario()
    rotation = s.room.add([s.people["dave"].public], share_history=[1])
    s.deliver(rotation.bundle, "bob", "carol", "dave")
    for_dave = rotation.history["dave"]
    # Offered to bob instead: not his.
    assert error_code(s.rings["bob"].accept, for_dave.to_bytes()) == "E_NOT_RECIPIENT"
    # Relabelled for bob: the signature covers the recipient.
    relabelled = dataclasses.replace(for_dave, recipient_id="bob")
    assert error_code(s.rings["bob"].accept, relabelled.to_bytes()) == "E_AUTH"
    # Made by the server's own identity (even one bob was made to learn): no authority.
    s.rings["dave"].add_identity(s.people["mallory"].public)
    record = s.rings["alice"].record(ROOM, 1)
    forged = build_history(s.people["mallory"], s.people["dave"].public,
                           [(room_key(1, label="server"), sorted((record.roster or {}).items()))],
                           anchor_epoch=2, kem=s.room.kem, issued_at=0, proof=None)
    before = state(s.rings["dave"])
    assert error_code(s.rings["dave"].accept, forged.to_bytes()) == "E_UNAUTHORIZED"
    assert state(s.rings["dave"]) == before


def test_member_sharing_a_false_key_for_a_held_epoch_is_refused() -> None:
    """carol, a member, shares a different key for epoch 1 with bob, who already holds epoch 1."""
    s = scenario()
    record = s.rings["alice"].record(ROOM, 1)
    false_key = room_key(1, label="false")
    # A history bundle is anchored in a later epoch that both hold, so rotate first.
    second = s.room.rotate().bundle
    s.deliver(second, "bob", "carol")
    history = build_history(s.people["carol"], s.people["bob"].public,
                            [(false_key, sorted((record.roster or {}).items()))], anchor_epoch=2,
                            kem=s.room.kem, issued_at=0, proof=second.proof_for("carol"))
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, history.to_bytes()) == "E_AUTH"
    assert state(s.rings["bob"]) == before


def test_server_cannot_swap_a_known_identity() -> None:
    """The server publishes a new identity under alice's id: the key ring keeps the one it holds."""
    s = scenario()
    fake_alice = Identity("alice", x25519_private=bytes(range(32)), ed25519_seed=bytes(range(1, 33)))
    assert error_code(s.rings["bob"].add_identity, fake_alice.public) == "E_POLICY"
    assert s.rings["bob"].identity("alice") == s.people["alice"].public
    # A bundle signed by the impostor under alice's id fails alice's real key.
    forged = build_bundle(fake_alice, room_key(2), [s.people["bob"].public], kem=s.room.kem, issued_at=0, proof=None)
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_AUTH"


def test_wire_forms_are_all_checked() -> None:
    """The same forged content is refused whichever form the relay delivers: object, bytes, slice."""
    s = scenario()
    forged = build_bundle(s.people["mallory"], room_key(2), [s.people["bob"].public], kem=s.room.kem,
                          issued_at=0, proof=None)
    for form in (forged, forged.to_bytes(), forged.slice_for("bob"), forged.slice_for("bob").to_bytes()):
        with pytest.raises(DomviaError):
            s.rings["bob"].accept(form)
    # The forgery itself is well formed: what refuses it is authority, not parsing.
    assert Bundle.from_bytes(forged.to_bytes()) == forged
    assert Slice.from_bytes(forged.slice_for("bob").to_bytes()) == forged.slice_for("bob")
