"""Attack: the relay or the server injects a bundle, adds a member, or replays an old bundle (rollback).

Sources: Albrecht, Celi, Dowling and Jones, "Practically-exploitable Cryptographic Vulnerabilities in
Matrix" (IEEE S&P 2023, disclosed 2022): group membership was controlled by the homeserver, so a
malicious server could add a device of its own to a room and be sent the room keys. Rösler, Mainka
and Schwenk, "More is Less: On the End-to-End Security of Group Chats in Signal, WhatsApp, and
Threema" (EuroS&P 2018): WhatsApp's group management messages were not authenticated end to end, so
the server could add members to a group on its own.

Why it fails here: a bundle is signed by its rotator, whose keys come from the bundle itself, and a
key ring accepts epoch E only on top of the E - 1 it holds, signed by an admin of E - 1 (or, in rooms
whose admins allow it, a member of E - 1); its first epoch only from an admin it trusts for that room
(spec/bundle.md). The member-tree root is in the signed header, so a leaf added, removed or changed
breaks the signature. An epoch already held is stale (E_STALE), one past the next is a gap (E_GAP),
so an old bundle cannot roll a member back and no epoch can be skipped. The server can publish
identities, but a key ring refuses a changed identity for a known participant unless told to replace
it, and reports a roster that lists a pinned id with other keys.
"""

from __future__ import annotations

import dataclasses

import pytest

from core_helpers import forge_bundle, next_after

from domvia_e2ee import Bundle, DomviaError, Identity, RoomPolicy, Slice
from domvia_e2ee.group.bundle import SignedHeader
from domvia_e2ee.group.history import SharedEpoch, build_history
from domvia_e2ee.group.members import Member, MemberProof, RosterEntry
from domvia_e2ee.hazmat import merkle

from .scenario import ROOM, error_code, next_bundle, room_key, scenario, state

EVERYONE = ("alice", "bob", "carol", "dave", "mallory")


def _own_proof(identity: Identity) -> MemberProof:
    """A member proof of mallory's own making: it verifies against a tree she built, and no other."""
    entry = RosterEntry.of(identity.public, bytes(32))
    return MemberProof(entry, 0, tuple(merkle.Tree([entry.leaf(), bytes(32)]).path(0)))


def _resigned(signer: Identity, bundle: Bundle, **changes: object) -> Bundle:
    header = dataclasses.replace(bundle.header, **changes)
    return dataclasses.replace(bundle, signed=SignedHeader(header, signer.sign(header.signed_bytes()),
                                                           bundle.signed.authority))


def _with_header(bundle: Bundle, **changes: object) -> Bundle:
    return dataclasses.replace(bundle, signed=dataclasses.replace(
        bundle.signed, header=dataclasses.replace(bundle.header, **changes)))


def test_bundle_signed_by_an_unknown_party_is_refused() -> None:
    s = scenario()
    forged = next_bundle(s, room_key(2), EVERYONE, rotator="mallory")
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_UNAUTHORIZED"
    # Not listing herself does not help: a rotator must be a member of its own epoch.
    outside = next_bundle(s, room_key(2), ("alice", "bob", "carol"), rotator="mallory")
    assert error_code(s.rings["bob"].accept, outside.to_bytes()) == "E_UNAUTHORIZED"
    assert state(s.rings["bob"]) == before


@pytest.mark.parametrize("policy", [None, RoomPolicy(members_may_rotate=True)], ids=["admins", "members"])
def test_server_published_identity_does_not_give_authority(policy: RoomPolicy | None) -> None:
    """Even once the server has made bob learn mallory's identity, she is neither admin nor member."""
    s = scenario(policy=policy)
    s.rings["bob"].add_identity(s.people["mallory"].public)
    forged = next_bundle(s, room_key(2), EVERYONE, rotator="mallory")
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_UNAUTHORIZED"
    # A member proof of her own making verifies against a tree she built, not epoch 1's root.
    with_proof = next_bundle(s, room_key(2), EVERYONE, rotator="mallory", authority=_own_proof(s.people["mallory"]))
    assert error_code(s.rings["bob"].accept, with_proof.to_bytes()) == "E_UNAUTHORIZED"
    # Naming herself an admin in her own header changes nothing: authority is epoch 1's admin set.
    crowned = forge_bundle(s.people["mallory"], room_key(2), [s.people[n].public for n in EVERYONE],
                           **(next_after(s.rings["bob"], ROOM) | {"admins": tuple(sorted(
                               (*s.rings["bob"].header(ROOM).admins,
                                ("mallory", s.people["mallory"].public.fingerprint))))}))
    assert error_code(s.rings["bob"].accept, crowned.to_bytes()) == "E_UNAUTHORIZED"
    assert s.rings["bob"].epochs(ROOM) == [1]


def test_server_cannot_add_a_member_to_a_genuine_bundle() -> None:
    s = scenario()
    genuine = s.room.rotate().bundle
    mallory = s.people["mallory"]
    extra = Member.make(mallory.public, genuine.members[0].wrapped)
    members = tuple(sorted((*genuine.members, extra), key=lambda m: m.participant_id.encode()))
    # Leaves added with the signed header kept: the count disagrees, and the root too.
    assert error_code(s.rings["bob"].accept, dataclasses.replace(genuine, members=members)) == "E_FORMAT"
    tampered = _with_header(dataclasses.replace(genuine, members=members), member_count=len(members))
    assert error_code(s.rings["bob"].accept, tampered.to_bytes()) == "E_AUTH"
    # The header re-rooted to the new tree: the signature no longer covers it.
    rerooted = _with_header(tampered, root=merkle.Tree([m.entry.leaf() for m in members]).root)
    assert error_code(s.rings["bob"].accept, rerooted.to_bytes()) == "E_AUTH"
    assert s.rings["bob"].epochs(ROOM) == [1]
    s.deliver(genuine, "bob")
    assert s.rings["bob"].epochs(ROOM) == [1, 2]


def test_server_cannot_drop_a_member_from_a_genuine_bundle() -> None:
    s = scenario()
    genuine = s.room.rotate().bundle
    without_carol = tuple(m for m in genuine.members if m.participant_id != "carol")
    tampered = _with_header(dataclasses.replace(genuine, members=without_carol), member_count=len(without_carol))
    assert error_code(s.rings["bob"].accept, tampered.to_bytes()) == "E_AUTH"


@pytest.mark.parametrize("field", ["room_id", "epoch", "key_id", "previous", "rotator_id", "issued_at", "flags",
                                   "policy", "admins"])
def test_any_change_to_the_signed_header_is_refused(field: str) -> None:
    s = scenario()
    genuine = s.room.rotate().bundle
    header = genuine.header
    changed = {"room_id": "room-2", "epoch": 3, "key_id": bytes(32), "previous": bytes([9]) * 32,
               "rotator_id": "carol", "issued_at": header.issued_at + 1, "flags": header.flags ^ 1,
               "policy": RoomPolicy(max_messages=1_000_000), "admins": (("carol", bytes(32)),)}[field]
    tampered = _with_header(genuine, **{field: changed})
    before = state(s.rings["bob"])
    # Whatever the changed header would mean for bob's chain, the signature is checked first.
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


def test_an_epoch_cannot_be_skipped_or_rolled_back() -> None:
    """bob missed epoch 2: epoch 3 waits for it (E_GAP, nothing installed); once both are held, a
    genuine epoch-2 bundle arriving late again is stale, not installed."""
    s = scenario()
    second = s.room.rotate().bundle
    third = s.room.rotate().bundle
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, third.to_bytes()) == "E_GAP"
    assert state(s.rings["bob"]) == before
    s.deliver(second, "bob")
    s.deliver(third, "bob")
    assert error_code(s.rings["bob"].accept, second.to_bytes()) == "E_STALE"
    assert s.rings["bob"].epochs(ROOM) == [1, 2, 3]


def test_forged_slice_path_is_refused() -> None:
    s = scenario()
    genuine = s.room.rotate().bundle.slice_for("bob")
    assert genuine.path
    forged = dataclasses.replace(genuine, path=tuple(bytes(32) for _ in genuine.path))
    assert error_code(s.rings["bob"].accept, forged.to_bytes()) == "E_AUTH"
    wrong_index = dataclasses.replace(genuine, index=genuine.index ^ 1)
    assert error_code(s.rings["bob"].accept, wrong_index.to_bytes()) == "E_AUTH"


def test_server_substituted_leaf_in_a_slice_is_refused() -> None:
    """The server swaps bob's leaf in a genuine slice for one carrying a key it chose and wrapped to bob."""
    s = scenario()
    genuine = s.room.rotate().bundle
    own = forge_bundle(s.people["mallory"], room_key(2, label="server"), [s.people["bob"].public])
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
    # Made by the server's own identity (even one dave was made to learn): no member of epoch 2.
    s.rings["dave"].add_identity(s.people["mallory"].public)
    record = s.rings["alice"].record(ROOM, 1)
    shared = [SharedEpoch(record.header_bytes, room_key(1, label="server"), tuple(record.roster.values()))]
    forged = build_history(s.people["mallory"], s.people["dave"].public, shared, room_id=ROOM, anchor_epoch=2,
                           kem=s.room.kem, issued_at=0, sharer_proof=_own_proof(s.people["mallory"]))
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
                            [SharedEpoch(record.header_bytes, false_key, tuple(record.roster.values()))],
                            room_id=ROOM, anchor_epoch=2, kem=s.room.kem, issued_at=0,
                            sharer_proof=second.proof_for("carol"))
    before = state(s.rings["bob"])
    assert error_code(s.rings["bob"].accept, history.to_bytes()) == "E_AUTH"
    assert state(s.rings["bob"]) == before


def test_server_cannot_swap_a_known_identity() -> None:
    """The server publishes a new identity under alice's id: the key ring keeps the one it holds."""
    s = scenario()
    fake_alice = Identity("alice", x25519_private=bytes(range(32)), ed25519_seed=bytes(range(1, 33)))
    assert error_code(s.rings["bob"].add_identity, fake_alice.public) == "E_POLICY"
    assert s.rings["bob"].known_identity("alice") == s.people["alice"].public
    # A bundle signed by the impostor as rotator over alice's real entry fails alice's real key.
    forged = next_bundle(s, room_key(2), ("alice", "bob"))
    assert error_code(s.rings["bob"].accept, _resigned(fake_alice, forged).to_bytes()) == "E_AUTH"
    # Listing the impostor as alice: not the admin whose fingerprint epoch 1 signed.
    listed = forge_bundle(fake_alice, room_key(2), [fake_alice.public, s.people["bob"].public],
                          **next_after(s.rings["bob"], ROOM))
    assert error_code(s.rings["bob"].accept, listed.to_bytes()) == "E_UNAUTHORIZED"
    # Only the admins can put other keys under a known id in a roster, and bob is told when they do.
    other_carol = Identity("carol", x25519_private=bytes(range(2, 34)), ed25519_seed=bytes(range(3, 35)))
    replaced = forge_bundle(s.people["alice"], room_key(2), [s.people["alice"].public, s.people["bob"].public,
                                                             other_carol.public], **next_after(s.rings["bob"], ROOM))
    assert s.rings["bob"].accept(replaced.to_bytes()).identity_changes == ("carol",)
    assert s.rings["bob"].known_identity("carol") == s.people["carol"].public


def test_wire_forms_are_all_checked() -> None:
    """The same forged content is refused whichever form the relay delivers: object, bytes, slice."""
    s = scenario()
    forged = next_bundle(s, room_key(2), ("bob", "mallory"), rotator="mallory")
    for form in (forged, forged.to_bytes(), forged.slice_for("bob"), forged.slice_for("bob").to_bytes()):
        with pytest.raises(DomviaError):
            s.rings["bob"].accept(form)
    # The forgery itself is well formed: what refuses it is authority, not parsing.
    assert Bundle.from_bytes(forged.to_bytes()) == forged
    assert Slice.from_bytes(forged.slice_for("bob").to_bytes()) == forged.slice_for("bob")
