"""Epoch bundles and slices (format version 3): every acceptance rule, and that a rejection changes nothing."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from core_helpers import (
    ROOM, admins_of, assert_unchanged, fixed_identity, forge_bundle, key_of, next_after, ring_state, seed, world,
)

from domvia_e2ee import (
    Announcement, AuthenticationError, Bundle, ForkError, FormatError, GapError, Identity, KeyRing, MemberProofFile,
    NotRecipientError, PolicyError, Room, RoomKey, RoomPolicy, Slice, StaleEpochError, UnauthorizedError,
    UnknownKeyError, UnknownSenderError, WrapKem, labels,
)
from domvia_e2ee.encoding import Writer
from domvia_e2ee.group.bundle import Plan, SignedHeader, build_bundle
from domvia_e2ee.group.header import Flag
from domvia_e2ee.group.members import Member, RosterEntry
from domvia_e2ee.hazmat import hpke
from domvia_e2ee.wrap import wrap, wrap_info

NAMES = ("alice", "bob", "carol", "dave", "eve")
MEMBERS_ROTATE = RoomPolicy(members_may_rotate=True)


def _setup(policy: RoomPolicy | None = None) -> tuple[dict[str, Identity], dict[str, KeyRing], Room, Bundle]:
    """alice (admin) creates the room with bob and carol; dave and eve are known outsiders."""
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public, identities["carol"].public],
                                 policy=policy)
    return identities, rings, room, rotation.bundle


@pytest.fixture
def setup() -> tuple[dict[str, Identity], dict[str, KeyRing], Room, Bundle]:
    return _setup()


def next_key(epoch: int = 2) -> RoomKey:
    return RoomKey(seed("epoch", epoch), room_id=ROOM, epoch=epoch)


def with_header(item, **changes):  # type: ignore[no-untyped-def]
    """A bundle or slice whose header fields are changed and whose signature is kept."""
    return dataclasses.replace(item, signed=dataclasses.replace(item.signed,
                                                                header=dataclasses.replace(item.header, **changes)))


def fork_state(ring: KeyRing) -> dict[str, object]:
    """A key ring's state without its fork evidence (which a refused fork adds on purpose)."""
    return {k: v for k, v in ring_state(ring).items() if k != "forks"}


# -- accepting ---------------------------------------------------------------------------------


def test_full_bundle_as_bytes_or_object(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    accepted = rings["bob"].accept(bundle.to_bytes())
    assert (accepted.room_id, accepted.epochs, accepted.kind) == (ROOM, (1,), "bundle")
    assert rings["carol"].accept(bundle).kind == "bundle"
    assert key_of(rings["bob"], ROOM, 1) == key_of(rings["alice"], ROOM, 1) == key_of(rings["carol"], ROOM, 1)
    record = rings["bob"].record(ROOM, 1)
    assert record.complete
    assert {i: e.fingerprint for i, e in record.roster.items()} == {
        m.participant_id: m.entry.fingerprint for m in bundle.members}


def test_slice_then_full_bundle(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    piece = bundle.slice_for("bob")
    assert Slice.from_bytes(piece.to_bytes()) == piece
    assert len(piece.to_bytes()) < len(bundle.to_bytes())
    assert rings["bob"].accept(piece.to_bytes()).kind == "slice"
    assert key_of(rings["bob"], ROOM, 1) == key_of(rings["alice"], ROOM, 1)
    rings["carol"].accept(bundle)
    sealed = rings["carol"].seal(ROOM, b"hi", message_id="m-1")
    with pytest.raises(UnknownSenderError):  # who may send in epoch 1 is unknown from a slice
        rings["bob"].open(sealed)
    assert rings["bob"].accept(bundle.to_bytes()).kind == "roster"
    assert rings["bob"].open(sealed).plaintext == b"hi"
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.to_bytes())


def test_a_slice_holder_learns_a_sender_from_its_member_proof(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    rings["bob"].accept(bundle.slice_for("bob").to_bytes())
    rings["carol"].accept(bundle)
    sealed = rings["carol"].seal(ROOM, b"hi", message_id="m-1")
    # the rotator is proved by the slice itself: alice's messages open at once
    assert rings["bob"].open(rings["alice"].seal(ROOM, b"from alice")).sender_id == "alice"
    with pytest.raises(UnknownSenderError):
        rings["bob"].open(sealed)
    proof = MemberProofFile(ROOM, 1, bundle.proof_for("carol"))
    assert MemberProofFile.from_bytes(proof.to_bytes()) == proof
    assert rings["bob"].accept(proof.to_bytes()).kind == "member"
    assert rings["bob"].open(sealed).plaintext == b"hi"
    # a proof for an epoch not held, or one that does not verify, changes nothing
    assert_unchanged(rings["bob"], UnknownKeyError, rings["bob"].accept, MemberProofFile(ROOM, 2, proof.proof))
    bad = dataclasses.replace(proof.proof, index=proof.proof.index ^ 1)
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, MemberProofFile(ROOM, 1, bad))


def test_bundle_bytes_round_trip(setup) -> None:  # type: ignore[no-untyped-def]
    bundle = setup[3]
    again = Bundle.from_bytes(bundle.to_bytes())
    assert again == bundle and again.tree().root == bundle.header.root
    assert again.to_bytes() == bundle.to_bytes()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_every_member_of_any_size_accepts_its_slice(size: int) -> None:
    members = [fixed_identity(f"m{i:02d}") for i in range(size)]
    rotator = members[0]
    bundle = build_bundle(rotator, next_key(1), [m.public for m in members], kem=WrapKem.X25519, issued_at=0,
                          plan=Plan(admins=admins_of(rotator)))
    for member in members:
        ring = KeyRing(member)
        ring.trust_admin(ROOM, rotator.public)
        assert ring.accept(bundle.slice_for(member.participant_id).to_bytes()).kind == "slice"
        assert key_of(ring, ROOM, 1) == next_key(1)


# -- signature ---------------------------------------------------------------------------------


def test_a_bad_signature_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    data = bytearray(bundle.to_bytes())
    offset = 4 + len(bundle.header.to_bytes())
    data[offset] ^= 1
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, bytes(data))
    piece = bundle.slice_for("bob")
    piece = dataclasses.replace(piece, signed=dataclasses.replace(piece.signed, signature=bytes(64)))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, piece)
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, piece.to_bytes())


@pytest.mark.parametrize(("field", "value"), [
    ("suite", 2), ("room_id", "room-2"), ("epoch", 2), ("key_id", bytes(32)), ("previous", bytes([1]) * 32),
    ("rotator_id", "bob"), ("issued_at", 12345), ("flags", Flag.MEMBERS_MAY_ROTATE),
    ("policy", RoomPolicy(max_messages=5)), ("policy", RoomPolicy(max_age_seconds=5)),
    ("admins", (("alice", bytes(32)),)), ("member_count", 4), ("root", bytes(32)), ("kem", WrapKem.MLKEM768_X25519),
])
def test_every_signed_header_field_is_covered(setup, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    # Epoch 2 without a previous epoch, or epoch 1 with one, is malformed (objects obey the parse rules
    # too); so is a count that disagrees with the members listed. Everything else is a forgery.
    malformed = {"epoch", "previous"}
    forged = with_header(bundle, **{field: value})
    expected = FormatError if field in malformed | {"member_count"} else AuthenticationError
    assert_unchanged(rings["bob"], expected, rings["bob"].accept, forged)
    piece = with_header(bundle.slice_for("bob"), **{field: value})
    # A slice's rotator proof names the rotator: another name is malformed (spec/bundle.md, step 2).
    expected = FormatError if field in malformed | {"rotator_id"} else AuthenticationError
    assert_unchanged(rings["bob"], expected, rings["bob"].accept, piece)
    if field != "kem":  # bytes of an X-Wing header over classic members do not even parse
        assert_unchanged(rings["bob"], expected, rings["bob"].accept, piece.to_bytes())


def test_an_unknown_signer_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    """The rotator's keys come from the bundle: a signer it does not list is no rotator, and one it
    lists is still no admin the joiner trusts."""
    identities, rings, _, _ = setup
    zed = fixed_identity("zed")
    outside = forge_bundle(zed, next_key(1), {identities["bob"].public: wrap(next_key(1), identities["bob"].public,
                                                                            WrapKem.X25519)})
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, outside.to_bytes())
    inside = forge_bundle(zed, next_key(1), [identities["bob"].public, zed.public])
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, inside.to_bytes())


# -- authorised signer ---------------------------------------------------------------------------


def test_only_an_admin_rotates_by_default(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    for name in ("bob", "carol"):
        rings[name].accept(bundle.to_bytes())
    with pytest.raises(PolicyError):
        Room(rings["bob"], ROOM).rotate()
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    forged = forge_bundle(identities["bob"], next_key(), publics, **next_after(rings["carol"], ROOM))
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, forged.to_bytes())
    with_proof = forge_bundle(identities["bob"], next_key(), publics, authority=bundle.proof_for("bob"),
                              **next_after(rings["carol"], ROOM))
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, with_proof.to_bytes())


def test_a_member_of_the_previous_epoch_may_rotate_where_the_admins_allow_it() -> None:
    identities, rings, _, bundle = _setup(MEMBERS_ROTATE)
    for name in ("bob", "carol"):
        rings[name].accept(bundle.to_bytes())
    rotation = Room(rings["bob"], ROOM).rotate()
    assert rotation.bundle.signed.authority is not None  # bob is no admin: he proves his membership of epoch 1
    assert rings["carol"].accept(rotation.bundle.to_bytes()).epochs == (2,)
    assert key_of(rings["carol"], ROOM, 2) == key_of(rings["bob"], ROOM, 2)
    assert rings["alice"].accept(rotation.bundle.to_bytes()).epochs == (2,)
    # a member keeps the admins and the policy: changing either is an admin's decision
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    base = next_after(rings["carol"], ROOM)
    for change in ({"admins": admins_of(identities["alice"], identities["bob"])},
                   {"policy": RoomPolicy(max_messages=7, members_may_rotate=True)},
                   {"policy": RoomPolicy()}):
        forged = forge_bundle(identities["bob"], next_key(3), publics, **(base | change))
        assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, forged.to_bytes())
    assert rings["carol"].accept(forge_bundle(identities["bob"], next_key(3), publics, **base)).epochs == (3,)


def test_a_member_proves_membership_to_a_slice_holder() -> None:
    identities, rings, _, bundle = _setup(MEMBERS_ROTATE)
    rings["carol"].accept(bundle.slice_for("carol").to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    base = next_after(rings["carol"], ROOM)
    without = forge_bundle(identities["bob"], next_key(), publics, **base)
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, without.to_bytes())
    alices_proof = forge_bundle(identities["bob"], next_key(), publics, authority=bundle.proof_for("alice"), **base)
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, alices_proof.to_bytes())
    proof = bundle.proof_for("bob")
    tampered = [dataclasses.replace(proof, index=proof.index ^ 1),
                dataclasses.replace(proof, entry=dataclasses.replace(proof.entry, wrapped_digest=bytes(32))),
                dataclasses.replace(proof, path=(bytes(32), *proof.path[1:])), dataclasses.replace(proof, path=())]
    for bad in tampered:
        forged = forge_bundle(identities["bob"], next_key(), publics, authority=bad, **base)
        assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, forged.to_bytes())
    good = forge_bundle(identities["bob"], next_key(), publics, authority=proof, **base)
    assert rings["carol"].accept(good.slice_for("carol").to_bytes()).epochs == (2,)


@pytest.mark.parametrize("policy", [None, MEMBERS_ROTATE], ids=["admins", "members"])
def test_a_non_member_may_not_rotate(policy: RoomPolicy | None) -> None:
    identities, rings, _, bundle = _setup(policy)
    rings["bob"].accept(bundle.to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "eve")]
    for proof in (None, bundle.proof_for("bob"), bundle.proof_for("alice")):
        forged = forge_bundle(identities["eve"], next_key(), publics, authority=proof, **next_after(rings["bob"], ROOM))
        assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())


@pytest.mark.parametrize("policy", [None, MEMBERS_ROTATE], ids=["admins", "members"])
def test_a_removed_member_may_not_rotate(policy: RoomPolicy | None) -> None:
    identities, rings, room, bundle = _setup(policy)
    for name in ("bob", "carol"):
        rings[name].accept(bundle.to_bytes())
    removal = room.remove(["carol"]).bundle
    rings["bob"].accept(removal.to_bytes())
    assert rings["carol"].accept(removal.announcement().to_bytes()).kind == "link"  # carol keeps the chain
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    comeback = forge_bundle(identities["carol"], next_key(3), publics, authority=bundle.proof_for("carol"),
                            **next_after(rings["carol"], ROOM))
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, comeback.to_bytes())


def test_no_one_can_skip_an_epoch(setup) -> None:  # type: ignore[no-untyped-def]
    """An epoch is accepted only on top of the one before: an admin's epoch 3 waits for epoch 2."""
    identities, rings, room, bundle = setup
    rings["carol"].accept(bundle.to_bytes())
    second = room.rotate().bundle
    third = room.rotate().bundle
    assert_unchanged(rings["carol"], GapError, rings["carol"].accept, third.to_bytes())
    assert_unchanged(rings["carol"], GapError, rings["carol"].accept, third.slice_for("carol").to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    skipping = forge_bundle(identities["alice"], next_key(3), publics, **next_after(rings["carol"], ROOM))
    assert_unchanged(rings["carol"], GapError, rings["carol"].accept, skipping.to_bytes())
    assert rings["carol"].accept(second.slice_for("carol")).epochs == (2,)
    assert rings["carol"].accept(third.to_bytes()).epochs == (3,)


def test_an_outsider_cannot_start_a_room() -> None:
    identities, rings = world(("alice", "bob", "eve"))
    forged = forge_bundle(identities["eve"], next_key(1), [identities["bob"].public, identities["eve"].public])
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())
    # nor can a trusted admin's name be borrowed: the anchor is the admin's fingerprint
    named = forge_bundle(identities["eve"], next_key(1), [identities["bob"].public, identities["eve"].public],
                         admins=admins_of(identities["alice"], identities["eve"]))
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, named.to_bytes())


def test_a_trusted_admin_must_be_in_the_header_admin_set() -> None:
    identities, rings = world(("alice", "bob", "eve"))
    forged = forge_bundle(identities["alice"], next_key(1), [identities["alice"].public, identities["bob"].public],
                          admins=admins_of(identities["eve"]))
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())


# -- position in the chain -------------------------------------------------------------------------


def test_replayed_and_rolled_back_bundles_are_stale(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, room, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.slice_for("bob"))
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.announcement().to_bytes())
    second = room.rotate().bundle
    rings["bob"].accept(second.slice_for("bob").to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, second.slice_for("bob"))


def test_a_second_admin_signed_header_for_a_held_epoch_is_a_fork(setup) -> None:  # type: ignore[no-untyped-def]
    """v1 called this stale; a different authorised header for a held epoch is evidence of a split history."""
    identities, rings, room, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    second = room.rotate().bundle
    rings["bob"].accept(second.to_bytes())
    again = forge_bundle(identities["alice"], next_key(2), [identities["alice"].public, identities["bob"].public],
                         previous=bundle.header.epoch_hash(), admins=bundle.header.admins)
    before = fork_state(rings["bob"])
    with pytest.raises(ForkError) as info:
        rings["bob"].accept(again.to_bytes())
    assert fork_state(rings["bob"]) == before
    evidence = info.value.evidence
    assert (evidence.room_id, evidence.epoch, evidence.kind) == (ROOM, 2, "header")
    assert evidence.held == second.announcement().to_bytes() and evidence.other == again.announcement().to_bytes()
    assert rings["bob"].forks(ROOM) == [evidence]
    assert key_of(rings["bob"], ROOM, 2) == key_of(rings["alice"], ROOM, 2)
    # the same header signed by someone who may not sign it is not a fork, only unauthorised
    forged = forge_bundle(identities["bob"], next_key(2), [identities["alice"].public, identities["bob"].public],
                          previous=bundle.header.epoch_hash(), admins=bundle.header.admins)
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())


def test_an_authorised_header_that_does_not_build_on_the_chain_is_a_fork(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    elsewhere = forge_bundle(identities["alice"], next_key(2), [identities["alice"].public, identities["bob"].public],
                             previous=bytes([7]) * 32, admins=bundle.header.admins)
    before = fork_state(rings["bob"])
    with pytest.raises(ForkError) as info:
        rings["bob"].accept(elsewhere.to_bytes())
    assert fork_state(rings["bob"]) == before and info.value.evidence.kind == "chain"


# -- recipient listed ----------------------------------------------------------------------------


def test_a_participant_not_listed_is_not_a_recipient(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    assert_unchanged(rings["dave"], NotRecipientError, rings["dave"].accept, bundle.to_bytes())
    assert_unchanged(rings["dave"], NotRecipientError, rings["dave"].accept, bundle.slice_for("bob").to_bytes())
    assert_unchanged(rings["dave"], NotRecipientError, rings["dave"].accept, bundle.announcement().to_bytes())
    assert_unchanged(rings["carol"], NotRecipientError, rings["carol"].accept, bundle.slice_for("bob"))


def test_listed_under_another_identity_is_not_a_recipient(setup) -> None:  # type: ignore[no-untyped-def]
    """A bundle that names "bob" with a key pair bob does not hold."""
    identities, rings, _, _ = setup
    other_bob = Identity("bob", x25519_private=seed("other bob"), ed25519_seed=seed("other bob e"))
    forged = forge_bundle(identities["alice"], next_key(1), [identities["alice"].public, other_bob.public])
    assert_unchanged(rings["bob"], NotRecipientError, rings["bob"].accept, forged.to_bytes())
    assert_unchanged(rings["bob"], NotRecipientError, rings["bob"].accept, forged.slice_for("bob").to_bytes())


# -- key id matches the unwrapped key -------------------------------------------------------------


def test_a_rotator_who_hands_members_different_keys_is_caught(setup) -> None:  # type: ignore[no-untyped-def]
    """Bob's wrap opens (its HPKE info names the header's key id) but holds another secret."""
    identities, rings, _, _ = setup
    key = next_key(1)
    info = wrap_info(labels.INFO_WRAP, WrapKem.X25519, key.suite, ROOM, 1, key.key_id, "bob")
    wrapped = {identities["alice"].public: wrap(key, identities["alice"].public, WrapKem.X25519),
               identities["carol"].public: wrap(key, identities["carol"].public, WrapKem.X25519),
               identities["bob"].public: hpke.seal_base(identities["bob"].public.x25519, info, seed("other secret"))}
    forked = forge_bundle(identities["alice"], key, wrapped)
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forked.to_bytes())
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forked.slice_for("bob").to_bytes())
    assert rings["carol"].accept(forked.to_bytes()).epochs == (1,)


# -- tampered member list, root, path ---------------------------------------------------------------


def _replace_member(bundle: Bundle, name: str, member: Member) -> tuple[Member, ...]:
    return tuple(member if m.participant_id == name else m for m in bundle.members)


def test_a_tampered_member_list_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    carol = bundle.members[bundle.index_of("carol") or 0]
    server_wrap = wrap(next_key(1), identities["carol"].public, WrapKem.X25519)
    eve = identities["eve"].public
    variants = [
        Member.make(identities["carol"].public, server_wrap),
        dataclasses.replace(carol, entry=RosterEntry.make("carol", eve.x25519, eve.ed25519, b"",
                                                          carol.entry.wrapped_digest)),
    ]
    # In bytes a fingerprint is computed from the keys; an object can carry a wrong one.
    wrong_fingerprint = dataclasses.replace(carol, entry=dataclasses.replace(carol.entry, fingerprint=bytes(32)))
    object_only = dataclasses.replace(bundle, members=_replace_member(bundle, "carol", wrong_fingerprint))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, object_only)
    for member in variants:
        forged = dataclasses.replace(bundle, members=_replace_member(bundle, "carol", member))  # no old tree kept
        assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forged)
        assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forged.to_bytes())
        assert_unchanged(rings["carol"], AuthenticationError, rings["carol"].accept, forged.to_bytes())
    dropped = with_header(dataclasses.replace(bundle, members=tuple(m for m in bundle.members
                                                                    if m.participant_id != "carol")),
                          member_count=len(bundle.members) - 1)
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, dropped.to_bytes())


def test_a_bundle_object_whose_wrapped_key_was_replaced_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    carol = bundle.members[bundle.index_of("carol") or 0]
    server_wrap = wrap(next_key(1), identities["carol"].public, WrapKem.X25519)
    forged = dataclasses.replace(bundle, members=_replace_member(bundle, "carol",
                                                                 dataclasses.replace(carol, wrapped=server_wrap)))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forged.to_bytes())
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forged)


def test_a_tampered_root_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    data = bytearray(bundle.to_bytes())
    data[4 + len(bundle.header.to_bytes()) - 1] ^= 0x80  # last byte of the root
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, bytes(data))


def test_a_tampered_slice_path_leaf_or_rotator_proof_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    piece = bundle.slice_for("bob")
    assert piece.path
    rotator = piece.rotator
    variants = [
        dataclasses.replace(piece, path=(bytes(32), *piece.path[1:])),
        dataclasses.replace(piece, path=piece.path[:-1]),
        dataclasses.replace(piece, path=(*piece.path, bytes(32))),
        dataclasses.replace(piece, path=tuple(reversed(piece.path))) if len(piece.path) > 1 else None,
        dataclasses.replace(piece, index=piece.index ^ 1),
        dataclasses.replace(piece, index=piece.header.member_count),
        dataclasses.replace(piece, member=dataclasses.replace(piece.member, wrapped=bytes(80))),
        dataclasses.replace(piece, rotator=dataclasses.replace(rotator, index=rotator.index ^ 1)),
        dataclasses.replace(piece, rotator=dataclasses.replace(rotator, path=rotator.path[:-1])),
    ]
    for bad in variants:
        if bad is not None:
            assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, bad.to_bytes())
    other = dataclasses.replace(piece, rotator=bundle.proof_for("carol"))
    assert_unchanged(rings["bob"], FormatError, rings["bob"].accept, other.to_bytes())


# -- a bundle forged by the server -------------------------------------------------------------------


def test_the_server_cannot_forge_a_bundle(setup) -> None:  # type: ignore[no-untyped-def]
    """The server stores every bundle and knows every public key, but no private key."""
    identities, rings, _, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    server = fixed_identity("server")
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    key = next_key()
    ring = rings["bob"]
    base = next_after(ring, ROOM)
    # 1. signs a fresh bundle itself, naming the admin as rotator
    assert_unchanged(ring, AuthenticationError, ring.accept, forge_bundle(server, key, publics, rotator_id="alice",
                                                                        **base))
    # 2. signs as itself: not a member of its own bundle, then a member that is no admin
    assert_unchanged(ring, UnauthorizedError, ring.accept, forge_bundle(server, key, publics, **base).to_bytes())
    assert_unchanged(ring, UnauthorizedError, ring.accept,
                     forge_bundle(server, key, [*publics, server.public], **base).to_bytes())
    # 3. an impostor identity under the admin's id: as rotator over the real alice entry, or listed as alice
    impostor = Identity("alice", x25519_private=seed("imp x"), ed25519_seed=seed("imp e"))
    assert_unchanged(ring, AuthenticationError, ring.accept, forge_bundle(impostor, key, publics, **base).to_bytes())
    listed = [impostor.public, *publics[1:]]
    assert_unchanged(ring, UnauthorizedError, ring.accept, forge_bundle(impostor, key, listed, **base).to_bytes())
    # 4. a genuine signed header over members whose wraps the server made with a key it knows
    own = {p: wrap(key, p, WrapKem.X25519) for p in publics}
    genuine_next = build_bundle(identities["alice"], RoomKey.generate(room_id=ROOM, epoch=2), publics,
                                kem=WrapKem.X25519, issued_at=0,
                                plan=Plan(base["previous"], base["policy"], base["admins"]))
    spliced = Bundle(genuine_next.signed, tuple(Member.make(p, w) for p, w in
                                                sorted(own.items(), key=lambda item: item[0].participant_id)))
    assert_unchanged(ring, AuthenticationError, ring.accept, spliced.to_bytes())
    # 5. a genuine slice with the server's own wrap in the leaf
    piece = genuine_next.slice_for("bob")
    spliced_slice = dataclasses.replace(piece, member=Member.make(publics[1], own[publics[1]]))
    assert_unchanged(ring, AuthenticationError, ring.accept, spliced_slice.to_bytes())
    # 6. a stored old bundle, replayed
    assert_unchanged(ring, StaleEpochError, ring.accept, bundle.to_bytes())
    assert ring.accept(genuine_next.to_bytes()).epochs == (2,)


# -- strict parsing -----------------------------------------------------------------------------------


def _fail(data: bytes, field: str, parse=Bundle.from_bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as info:
        parse(data)
    assert info.value.field == field, info.value


def _header_offsets(bundle: Bundle) -> dict[str, int]:
    """Where each header field starts in the bundle's bytes (spec/bundle.md, "Header")."""
    h = bundle.header
    sizes = [("kem", 1), ("suite", 1), ("room_id", 1 + len(h.room_id)), ("epoch", 4), ("key_id", 32),
             ("previous", 32), ("rotator_id", 1 + len(h.rotator_id)), ("issued_at", 8), ("flags", 1),
             ("max_messages", 4), ("max_age_seconds", 4), ("admin_count", 1),
             ("admins", sum(1 + len(a) + 32 for a, _ in h.admins)), ("member_count", 4), ("root", 32),
             ("signature", 64), ("authority", 1), ("lists", 4), ("members", 0)]
    offsets, at = {}, 4
    for name, size in sizes:
        offsets[name] = at
        at += size
    return offsets


def _patch(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value):]


def test_strict_bundle_parsing(setup) -> None:  # type: ignore[no-untyped-def]
    bundle = setup[3]
    data = bundle.to_bytes()
    at = _header_offsets(bundle)
    assert at["members"] == 4 + len(bundle.header.to_bytes()) + 64 + 1 + 4
    assert data[at["authority"]] == 0 and data[at["lists"]:at["members"]] == bytes(4)
    _fail(b"DVB\x01" + data[4:], "magic")  # version 1 and 2 bundles are not read
    _fail(b"DVB\x02" + data[4:], "magic")
    _fail(b"DVS\x03" + data[4:], "magic")
    _fail(_patch(data, at["lists"], (1).to_bytes(4, "big")), "lists.list")
    _fail(data + b"\x00", "trailing data")
    _fail(data[:-1], "member.wrapped_key")
    _fail(data[:10], "room_id")
    _fail(_patch(data, at["kem"], b"\x03"), "kem")
    _fail(_patch(data, at["suite"], b"\x07"), "suite")
    _fail(_patch(data, at["epoch"], bytes(4)), "epoch")
    _fail(_patch(data, at["previous"], bytes([1]) * 32), "previous")  # epoch 1 has no previous
    _fail(_patch(data, at["issued_at"], (253_402_300_800).to_bytes(8, "big")), "issued_at")
    _fail(_patch(data, at["flags"], b"\x02"), "flags")  # DOWNGRADE in epoch 1
    _fail(_patch(data, at["max_messages"], bytes(4)), "max_messages")
    _fail(_patch(data, at["max_age_seconds"], bytes(4)), "max_age_seconds")
    _fail(_patch(data, at["admin_count"], b"\x00"), "admin_count")
    _fail(_patch(data, at["admin_count"], b"\x21"), "admin_count")
    _fail(_patch(data, at["member_count"], (0).to_bytes(4, "big")), "member_count")
    _fail(_patch(data, at["member_count"], (100_001).to_bytes(4, "big")), "member_count")
    _fail(_patch(data, at["authority"], b"\x02"), "authority")
    members_at = at["members"]
    first = bundle.members[0]
    xwing_at = members_at + 1 + len(first.participant_id) + 64
    _fail(_patch(data, xwing_at, (5).to_bytes(2, "big")), "member.xwing")
    _fail(_patch(data, xwing_at + 2, bytes([7]) * 32), "member.list_digest")  # alice is no user's device
    swapped = dataclasses.replace(bundle, members=(bundle.members[1], bundle.members[0], *bundle.members[2:]))
    _fail(swapped.to_bytes(), "members")
    duplicated = dataclasses.replace(bundle, members=(bundle.members[0], bundle.members[0], *bundle.members[2:]))
    _fail(duplicated.to_bytes(), "members")
    _fail(bytes(128 << 20) + b"x", "bundle")


@pytest.mark.parametrize("flags", [b"\x04", b"\x80", b"\x05"])
def test_unknown_flag_bits_are_refused(setup, flags: bytes) -> None:  # type: ignore[no-untyped-def]
    bundle = setup[3]
    _fail(_patch(bundle.to_bytes(), _header_offsets(bundle)["flags"], flags), "flags")


def test_admins_must_be_sorted_and_unique(setup) -> None:  # type: ignore[no-untyped-def]
    identities, _, _, bundle = setup
    two = admins_of(identities["alice"], identities["bob"])
    for admins in (two[::-1], (two[0], two[0])):
        header = dataclasses.replace(bundle.header, admins=admins)
        forged = dataclasses.replace(bundle, signed=SignedHeader(header, bytes(64), None))
        _fail(forged.to_bytes(), "admins")


def test_strict_slice_and_announcement_parsing(setup) -> None:  # type: ignore[no-untyped-def]
    bundle = setup[3]
    piece = bundle.slice_for("bob")
    data = piece.to_bytes()
    _fail(data + b"\x00", "trailing data", Slice.from_bytes)
    _fail(data[:-1], "path", Slice.from_bytes)
    _fail(b"DVB\x03" + data[4:], "magic", Slice.from_bytes)
    _fail(b"DVS\x01" + data[4:], "magic", Slice.from_bytes)
    too_long = dataclasses.replace(piece, path=(bytes(32),) * 33)
    _fail(too_long.to_bytes(), "path", Slice.from_bytes)
    _fail(bytes(64 << 10) + b"x", "slice", Slice.from_bytes)
    announcement = bundle.announcement().to_bytes()
    assert Announcement.from_bytes(announcement).to_bytes() == announcement
    _fail(announcement + b"\x00", "trailing data", Announcement.from_bytes)
    _fail(b"DVE\x01" + announcement[4:], "magic", Announcement.from_bytes)
    _fail(bytes(64 << 10) + b"x", "announcement", Announcement.from_bytes)


def test_accept_refuses_unknown_input(setup) -> None:  # type: ignore[no-untyped-def]
    ring = setup[1]["bob"]
    for data in (b"", b"DVM\x01", b"DVB\x01", b"DVH\x01", b"{}", bytes(100)):
        error = assert_unchanged(ring, FormatError, ring.accept, data)
        assert error.field == "magic"  # type: ignore[attr-defined]


def test_build_bundle_refuses_duplicates_and_empty() -> None:
    alice = fixed_identity("alice")
    plan = Plan(admins=admins_of(alice))
    with pytest.raises(ValueError):
        build_bundle(alice, next_key(1), [alice.public, alice.public], kem=WrapKem.X25519, issued_at=0, plan=plan)
    with pytest.raises(ValueError):
        build_bundle(alice, next_key(1), [], kem=WrapKem.X25519, issued_at=0, plan=plan)
    with pytest.raises(FormatError):
        build_bundle(alice, next_key(1), [alice.public], kem=WrapKem.X25519, issued_at=0, plan=Plan())


def test_x_wing_bundles() -> None:
    alice, bob = fixed_identity("alice", post_quantum=True), fixed_identity("bob", post_quantum=True)
    ring = KeyRing(bob)
    ring.trust_admin(ROOM, alice.public)
    bundle = build_bundle(alice, next_key(1), [alice.public, bob.public], kem=WrapKem.MLKEM768_X25519, issued_at=0,
                          plan=Plan(admins=admins_of(alice)))
    assert ring.accept(Bundle.from_bytes(bundle.to_bytes())).epochs == (1,)
    assert key_of(ring, ROOM, 1) == next_key(1)
    # an X-Wing epoch lists every member's X-Wing key
    classic = Member.make(fixed_identity("bob").public, bundle.members[1].wrapped)
    assert len(classic.entry.xwing) == 0
    data = dataclasses.replace(bundle, members=(bundle.members[0], classic)).to_bytes()
    _fail(data, "member.xwing")


def test_a_tampered_full_bundle_cannot_fill_a_slice_epochs_roster(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["bob"].accept(bundle.slice_for("bob"))
    eve = identities["eve"].public
    carol = bundle.members[bundle.index_of("carol") or 0]
    swapped = dataclasses.replace(carol, entry=RosterEntry.make("carol", eve.x25519, eve.ed25519, b"",
                                                                carol.entry.wrapped_digest))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept,
                     dataclasses.replace(bundle, members=_replace_member(bundle, "carol", swapped)).to_bytes())
    record = rings["bob"].record(ROOM, 1)
    assert not record.complete and sorted(record.roster) == ["alice", "bob"]


def test_an_admin_of_one_room_is_no_admin_of_another(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, _ = setup
    other_room = RoomKey(seed("other room"), room_id="room-2", epoch=1)
    forged = forge_bundle(identities["alice"], other_room, [identities["alice"].public, identities["bob"].public])
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())
    rings["bob"].trust_admin("room-2", identities["alice"].public)
    assert rings["bob"].accept(forged.to_bytes()).room_id == "room-2"
    with pytest.raises(PolicyError):  # once a room is held, only its chain decides who governs it
        rings["bob"].trust_admin("room-2", identities["eve"].public)


def test_member_entries_carry_the_identity_keys(setup) -> None:  # type: ignore[no-untyped-def]
    """Spec/bundle.md, member tree: the leaf commits to id, fingerprint, device list digest (none: 32 zero
    bytes) and the wrapped key's digest."""
    identities, _, _, bundle = setup
    for member in bundle.members:
        public = identities[member.participant_id].public
        assert member.entry.identity() == public and member.entry.fingerprint == public.fingerprint
        assert member.entry.wrapped_digest == hashlib.sha256(member.wrapped).digest()
        expected = hashlib.sha256(labels.TREE_LEAF + Writer().str8(member.participant_id).raw(public.fingerprint)
                                  .raw(bytes(32)).raw(member.entry.wrapped_digest).getvalue()).digest()
        assert member.entry.leaf() == expected
