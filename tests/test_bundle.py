"""Rotation bundles and slices: every acceptance rule, and that a rejection changes nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
from core_helpers import ROOM, assert_unchanged, fixed_identity, seed, world

from domvia_e2ee import (
    AuthenticationError, Bundle, FormatError, Identity, KeyRing, NotRecipientError, PublicIdentity, Room, RoomKey,
    Slice, StaleEpochError, UnauthorizedError, UnknownSenderError, WrapKem, labels,
)
from domvia_e2ee.bundle import BundleHeader, Member, MembershipProof, build_bundle
from domvia_e2ee.hazmat import hpke, merkle
from domvia_e2ee.wrap import wrap, wrap_info

NAMES = ("alice", "bob", "carol", "dave", "eve")


@pytest.fixture
def setup() -> tuple[dict[str, Identity], dict[str, KeyRing], Room, Bundle]:
    """alice (admin) creates the room with bob and carol; dave and eve are known outsiders."""
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public, identities["carol"].public])
    return identities, rings, room, rotation.bundle


def hand_bundle(signer: Identity, key: RoomKey, wrapped: Mapping[PublicIdentity, bytes], *,
                rotator_id: str | None = None, proof: MembershipProof | None = None,
                kem: WrapKem = WrapKem.X25519) -> Bundle:
    """A bundle assembled by hand, so a test can make each part exactly as wrong as it wants."""
    ordered = sorted(wrapped.items(), key=lambda item: item[0].participant_id.encode())
    leaves = tuple(Member(p.participant_id, p.fingerprint, w) for p, w in ordered)
    tree = merkle.Tree([leaf.leaf() for leaf in leaves])
    header = BundleHeader(kem, key.suite, key.room_id, key.epoch, key.key_id, rotator_id or signer.participant_id,
                          0, len(leaves), tree.root)
    return Bundle(header, signer.sign(header.signed_bytes()), proof, leaves)


def honest(signer: Identity, key: RoomKey, members: list[PublicIdentity], **kwargs: object) -> Bundle:
    return hand_bundle(signer, key, {m: wrap(key, m, WrapKem.X25519) for m in members}, **kwargs)  # type: ignore[arg-type]


def next_key(epoch: int = 2) -> RoomKey:
    return RoomKey(seed("epoch", epoch), room_id=ROOM, epoch=epoch)


# -- accepting ---------------------------------------------------------------------------------


def test_full_bundle_as_bytes_or_object(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    accepted = rings["bob"].accept(bundle.to_bytes())
    assert (accepted.room_id, accepted.epochs, accepted.kind) == (ROOM, (1,), "bundle")
    assert rings["carol"].accept(bundle).kind == "bundle"
    assert rings["bob"].key(ROOM, 1) == rings["alice"].key(ROOM, 1) == rings["carol"].key(ROOM, 1)
    assert rings["bob"].record(ROOM, 1).roster == {m.participant_id: m.fingerprint for m in bundle.members}


def test_slice_then_full_bundle(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    piece = bundle.slice_for("bob")
    assert Slice.from_bytes(piece.to_bytes()) == piece
    assert len(piece.to_bytes()) < len(bundle.to_bytes())
    assert rings["bob"].accept(piece.to_bytes()).kind == "slice"
    assert rings["bob"].key(ROOM, 1) == rings["alice"].key(ROOM, 1)
    sealed = rings["alice"].seal(ROOM, b"hi", message_id="m-1")
    with pytest.raises(UnknownSenderError):  # who may send in epoch 1 is unknown from a slice
        rings["bob"].open(sealed)
    assert rings["bob"].accept(bundle.to_bytes()).kind == "roster"
    assert rings["bob"].open(sealed).plaintext == b"hi"
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.to_bytes())


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
                          proof=None)
    for member in members:
        ring = KeyRing(member)
        ring.trust_admin(ROOM, rotator.public)
        assert ring.accept(bundle.slice_for(member.participant_id).to_bytes()).kind == "slice"
        assert ring.key(ROOM, 1) == next_key(1)


# -- signature ---------------------------------------------------------------------------------


def test_a_bad_signature_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    data = bytearray(bundle.to_bytes())
    offset = 4 + len(bundle.header.to_bytes())
    data[offset] ^= 1
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, bytes(data))
    piece = dataclasses.replace(bundle.slice_for("bob"), signature=bytes(64))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, piece)


@pytest.mark.parametrize(("field", "value"), [
    ("suite", 2), ("room_id", "room-2"), ("epoch", 2), ("key_id", bytes(32)), ("rotator_id", "bob"),
    ("issued_at", 12345), ("member_count", 4), ("root", bytes(32)), ("kem", WrapKem.MLKEM768_X25519),
])
def test_every_signed_header_field_is_covered(setup, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    forged = dataclasses.replace(bundle, header=dataclasses.replace(bundle.header, **{field: value}))
    # A count that disagrees with the members listed is malformed before it is forged.
    expected = FormatError if field == "member_count" else AuthenticationError
    assert_unchanged(rings["bob"], expected, rings["bob"].accept, forged)
    piece = dataclasses.replace(bundle.slice_for("bob"), header=forged.header)
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, piece)


def test_an_unknown_signer_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, _ = setup
    zed = fixed_identity("zed")
    forged = honest(zed, next_key(1), [rings["bob"].owner.public])
    assert_unchanged(rings["bob"], UnknownSenderError, rings["bob"].accept, forged.to_bytes())


# -- authorised signer ---------------------------------------------------------------------------


def test_a_member_of_the_previous_epoch_may_rotate(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["carol"].accept(bundle.to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    rotation = honest(identities["bob"], next_key(), publics, proof=bundle.proof_for("bob"))
    assert rings["carol"].accept(rotation.to_bytes()).epochs == (2,)
    assert rings["carol"].key(ROOM, 2) == next_key()


def test_a_member_proves_membership_to_a_slice_holder(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["carol"].accept(bundle.slice_for("carol").to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    without = honest(identities["bob"], next_key(), publics)
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, without.to_bytes())
    alices_proof = honest(identities["bob"], next_key(), publics, proof=bundle.proof_for("alice"))
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, alices_proof.to_bytes())
    proof = bundle.proof_for("bob")
    tampered = [dataclasses.replace(proof, index=proof.index ^ 1), dataclasses.replace(proof, wrapped_digest=bytes(32)),
                dataclasses.replace(proof, path=(bytes(32), *proof.path[1:])), dataclasses.replace(proof, path=())]
    for bad in tampered:
        forged = honest(identities["bob"], next_key(), publics, proof=bad)
        assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, forged.to_bytes())
    good = honest(identities["bob"], next_key(), publics, proof=proof)
    assert rings["carol"].accept(good.slice_for("carol").to_bytes()).epochs == (2,)


def test_a_non_member_may_not_rotate(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "eve")]
    for proof in (None, bundle.proof_for("bob"), bundle.proof_for("alice")):
        forged = honest(identities["eve"], next_key(), publics, proof=proof)
        assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())


def test_a_removed_member_may_not_rotate(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, room, bundle = setup
    for name in ("bob", "carol"):
        rings[name].accept(bundle.to_bytes())
    removal = room.remove(["carol"]).bundle
    rings["bob"].accept(removal.to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    comeback = honest(identities["carol"], next_key(3), publics, proof=bundle.proof_for("carol"))
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, comeback.to_bytes())


def test_a_non_admin_cannot_skip_an_epoch_but_an_admin_can(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["carol"].accept(bundle.to_bytes())
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    skipping = honest(identities["bob"], next_key(3), publics, proof=bundle.proof_for("bob"))
    assert_unchanged(rings["carol"], UnauthorizedError, rings["carol"].accept, skipping.to_bytes())
    assert rings["carol"].accept(honest(identities["alice"], next_key(3), publics).to_bytes()).epochs == (3,)


def test_an_outsider_cannot_start_a_room() -> None:
    identities, rings = world(("alice", "bob", "eve"))
    forged = honest(identities["eve"], next_key(1), [identities["bob"].public, identities["eve"].public])
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())


# -- epoch newer -------------------------------------------------------------------------------


def test_replayed_and_rolled_back_bundles_are_stale(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, room, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.slice_for("bob"))
    second = room.rotate().bundle
    rings["bob"].accept(second.slice_for("bob").to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, bundle.to_bytes())
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, second.slice_for("bob"))
    # an admin-signed bundle reusing the held epoch number with another key is stale too
    again = honest(rings["alice"].owner, next_key(2), [rings["bob"].owner.public])
    assert_unchanged(rings["bob"], StaleEpochError, rings["bob"].accept, again.to_bytes())


# -- recipient listed ----------------------------------------------------------------------------


def test_a_participant_not_listed_is_not_a_recipient(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    assert_unchanged(rings["dave"], NotRecipientError, rings["dave"].accept, bundle.to_bytes())
    assert_unchanged(rings["dave"], NotRecipientError, rings["dave"].accept, bundle.slice_for("bob").to_bytes())
    assert_unchanged(rings["carol"], NotRecipientError, rings["carol"].accept, bundle.slice_for("bob"))


def test_listed_under_another_identity_is_not_a_recipient(setup) -> None:  # type: ignore[no-untyped-def]
    """A bundle that names "bob" with a key pair bob does not hold."""
    identities, rings, _, _ = setup
    other_bob = Identity("bob", x25519_private=seed("other bob"), ed25519_seed=seed("other bob e"))
    forged = honest(identities["alice"], next_key(1), [identities["alice"].public, other_bob.public])
    assert_unchanged(rings["bob"], NotRecipientError, rings["bob"].accept, forged.to_bytes())
    assert_unchanged(rings["bob"], NotRecipientError, rings["bob"].accept, forged.slice_for("bob").to_bytes())


# -- key id matches the unwrapped key -------------------------------------------------------------


def test_a_rotator_who_hands_members_different_keys_is_caught(setup) -> None:  # type: ignore[no-untyped-def]
    """Bob's wrap opens (its HPKE info names the header's key id) but holds another secret."""
    identities, rings, _, _ = setup
    key = next_key(1)
    info = wrap_info(labels.INFO_WRAP, WrapKem.X25519, key.suite, ROOM, 1, key.key_id, "bob")
    wrapped = {identities["carol"].public: wrap(key, identities["carol"].public, WrapKem.X25519),
               identities["bob"].public: hpke.seal_base(identities["bob"].public.x25519, info, seed("other secret"))}
    forked = hand_bundle(identities["alice"], key, wrapped)
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forked.to_bytes())
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forked.slice_for("bob").to_bytes())
    assert rings["carol"].accept(forked.to_bytes()).epochs == (1,)


# -- tampered member list, root, path ---------------------------------------------------------------


def test_a_tampered_member_list_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    index = bundle.index_of("carol")
    members = list(bundle.members)
    server_wrap = wrap(next_key(1), identities["carol"].public, WrapKem.X25519)
    variants = [
        tuple(m if i != index else dataclasses.replace(m, wrapped=server_wrap) for i, m in enumerate(members)),
        tuple(m if i != index else dataclasses.replace(m, fingerprint=bytes(32)) for i, m in enumerate(members)),
    ]
    for tampered in variants:
        forged = dataclasses.replace(bundle, members=tampered)  # replace() must not keep the old tree
        assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forged)
        assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, forged.to_bytes())
        assert_unchanged(rings["carol"], AuthenticationError, rings["carol"].accept, forged.to_bytes())
    dropped = dataclasses.replace(bundle, members=tuple(m for m in members if m.participant_id != "carol"),
                                  header=dataclasses.replace(bundle.header, member_count=len(members) - 1))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, dropped.to_bytes())


def test_a_tampered_root_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    data = bytearray(bundle.to_bytes())
    data[4 + len(bundle.header.to_bytes()) - 1] ^= 0x80  # last byte of the root
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, bytes(data))


def test_a_tampered_slice_path_or_leaf_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, rings, _, bundle = setup
    piece = bundle.slice_for("bob")
    assert piece.path
    variants = [
        dataclasses.replace(piece, path=(bytes(32), *piece.path[1:])),
        dataclasses.replace(piece, path=piece.path[:-1]),
        dataclasses.replace(piece, path=(*piece.path, bytes(32))),
        dataclasses.replace(piece, path=tuple(reversed(piece.path))) if len(piece.path) > 1 else None,
        dataclasses.replace(piece, index=piece.index ^ 1),
        dataclasses.replace(piece, index=piece.header.member_count),
        dataclasses.replace(piece, member=dataclasses.replace(piece.member, wrapped=bytes(80))),
    ]
    for bad in variants:
        if bad is not None:
            assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept, bad.to_bytes())


# -- a bundle forged by the server -------------------------------------------------------------------


def test_the_server_cannot_forge_a_bundle(setup) -> None:  # type: ignore[no-untyped-def]
    """The server stores every bundle and knows every public key, but no private key."""
    identities, rings, _, bundle = setup
    rings["bob"].accept(bundle.to_bytes())
    server = fixed_identity("server")
    publics = [identities[n].public for n in ("alice", "bob", "carol")]
    key = next_key()
    ring = rings["bob"]
    # 1. signs a fresh bundle itself, naming the admin as rotator
    assert_unchanged(ring, AuthenticationError, ring.accept, honest(server, key, publics, rotator_id="alice"))
    # 2. signs as itself: an identity nobody knows, then one that is known but no member
    assert_unchanged(ring, UnknownSenderError, ring.accept, honest(server, key, publics).to_bytes())
    ring.add_identity(server.public)
    assert_unchanged(ring, UnauthorizedError, ring.accept, honest(server, key, publics).to_bytes())
    # 3. an impostor identity under the admin's id: the key ring already holds the real one
    impostor = Identity("alice", x25519_private=seed("imp x"), ed25519_seed=seed("imp e"))
    assert_unchanged(ring, AuthenticationError, ring.accept, honest(impostor, key, publics).to_bytes())
    # 4. a genuine signed header over members whose wraps the server made with a key it knows
    own = {p: wrap(key, p, WrapKem.X25519) for p in publics}
    genuine_next = build_bundle(identities["alice"], RoomKey.generate(room_id=ROOM, epoch=2),
                                publics, kem=WrapKem.X25519, issued_at=0, proof=None)
    spliced = Bundle(genuine_next.header, genuine_next.signature, None,
                     tuple(Member(p.participant_id, p.fingerprint, w)
                           for p, w in sorted(own.items(), key=lambda item: item[0].participant_id)))
    assert_unchanged(ring, AuthenticationError, ring.accept, spliced.to_bytes())
    # 5. a genuine slice with the server's own wrap in the leaf
    piece = genuine_next.slice_for("bob")
    spliced_slice = dataclasses.replace(piece, member=dataclasses.replace(piece.member, wrapped=own[publics[1]]))
    assert_unchanged(ring, AuthenticationError, ring.accept, spliced_slice.to_bytes())
    # 6. a stored old bundle, replayed
    assert_unchanged(ring, StaleEpochError, ring.accept, bundle.to_bytes())
    assert ring.accept(genuine_next.to_bytes()).epochs == (2,)


# -- strict parsing -----------------------------------------------------------------------------------


def _fail(data: bytes, field: str, parse=Bundle.from_bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as info:
        parse(data)
    assert info.value.field == field, info.value


def test_strict_bundle_parsing(setup) -> None:  # type: ignore[no-untyped-def]
    bundle = setup[3]
    data = bundle.to_bytes()
    header = bundle.header.to_bytes()
    _fail(b"DVB\x02" + data[4:], "magic")
    _fail(b"DVS\x01" + data[4:], "magic")
    _fail(data + b"\x00", "trailing data")
    _fail(data[:-1], "member.wrapped_key")
    _fail(data[:10], "room_id")
    _fail(b"DVB\x01\x03" + data[5:], "kem")
    _fail(b"DVB\x01\x01\x07" + data[6:], "suite")
    count_at = 4 + len(header) - 32 - 4
    _fail(data[:count_at] + (0).to_bytes(4, "big") + data[count_at + 4:], "member_count")
    _fail(data[:count_at] + (100_001).to_bytes(4, "big") + data[count_at + 4:], "member_count")
    proof_at = 4 + len(header) + 64
    _fail(data[:proof_at] + b"\x02" + data[proof_at + 1:], "proof")
    swapped = dataclasses.replace(bundle, members=(bundle.members[1], bundle.members[0], *bundle.members[2:]))
    _fail(swapped.to_bytes(), "members")
    duplicated = dataclasses.replace(bundle, members=(bundle.members[0], bundle.members[0], *bundle.members[2:]))
    _fail(duplicated.to_bytes(), "members")
    _fail(bytes(128 << 20) + b"x", "bundle")


def test_strict_slice_parsing(setup) -> None:  # type: ignore[no-untyped-def]
    piece = setup[3].slice_for("bob")
    data = piece.to_bytes()
    _fail(data + b"\x00", "trailing data", Slice.from_bytes)
    _fail(data[:-1], "path", Slice.from_bytes)
    _fail(b"DVB\x01" + data[4:], "magic", Slice.from_bytes)
    too_long = dataclasses.replace(piece, path=(bytes(32),) * 33)
    _fail(too_long.to_bytes(), "path", Slice.from_bytes)
    _fail(bytes(64 << 10) + b"x", "slice", Slice.from_bytes)


def test_accept_refuses_unknown_input(setup) -> None:  # type: ignore[no-untyped-def]
    ring = setup[1]["bob"]
    for data in (b"", b"DVM\x01", b"{}", bytes(100)):
        error = assert_unchanged(ring, FormatError, ring.accept, data)
        assert error.field == "magic"  # type: ignore[attr-defined]


def test_build_bundle_refuses_duplicates_and_empty() -> None:
    alice = fixed_identity("alice")
    with pytest.raises(ValueError):
        build_bundle(alice, next_key(1), [alice.public, alice.public], kem=WrapKem.X25519, issued_at=0, proof=None)
    with pytest.raises(ValueError):
        build_bundle(alice, next_key(1), [], kem=WrapKem.X25519, issued_at=0, proof=None)


def test_x_wing_bundles() -> None:
    alice, bob = fixed_identity("alice", post_quantum=True), fixed_identity("bob", post_quantum=True)
    ring = KeyRing(bob)
    ring.trust_admin(ROOM, alice.public)
    bundle = build_bundle(alice, next_key(1), [alice.public, bob.public], kem=WrapKem.MLKEM768_X25519, issued_at=0,
                          proof=None)
    assert ring.accept(Bundle.from_bytes(bundle.to_bytes())).epochs == (1,)
    assert ring.key(ROOM, 1) == next_key(1)


def test_a_tampered_full_bundle_cannot_fill_a_slice_epochs_roster(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, bundle = setup
    rings["bob"].accept(bundle.slice_for("bob"))
    index = bundle.index_of("carol")
    eve = identities["eve"].public
    members = tuple(m if i != index else dataclasses.replace(m, fingerprint=eve.fingerprint)
                    for i, m in enumerate(bundle.members))
    assert_unchanged(rings["bob"], AuthenticationError, rings["bob"].accept,
                     dataclasses.replace(bundle, members=members).to_bytes())
    assert rings["bob"].record(ROOM, 1).roster is None


def test_an_admin_of_one_room_is_no_admin_of_another(setup) -> None:  # type: ignore[no-untyped-def]
    identities, rings, _, _ = setup
    other_room = RoomKey(seed("other room"), room_id="room-2", epoch=1)
    forged = honest(identities["alice"], other_room, [identities["alice"].public, identities["bob"].public])
    assert_unchanged(rings["bob"], UnauthorizedError, rings["bob"].accept, forged.to_bytes())
    rings["bob"].trust_admin("room-2", identities["alice"].public)
    assert rings["bob"].accept(forged.to_bytes()).room_id == "room-2"
