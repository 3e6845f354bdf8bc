"""Hypothesis properties for every encode/decode pair: round trip, and canonical form.

Round trip: decode(encode(v)) == v. Canonical form: one byte string per value, so any input that
decodes re-encodes to exactly itself (binary forms), or to the one canonical spelling that every
accepted spelling maps to (JSON forms, whose spacing and key order JSON leaves free). Together they
mean that what is signed, authenticated or compared byte for byte has a single representation.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domvia_e2ee import (
    Announcement, Bundle, DomviaError, HistoryBundle, Identity, KeyRing, MemberProofFile, PublicIdentity, Room,
    RoomKey, RoomPolicy, SealedMessage, Slice, Suite, WrapKem, keyring_from_plaintext, keyring_to_plaintext,
    open_unsigned, seal, seal_unsigned,
)
from domvia_e2ee import open as open_signed
from domvia_e2ee.encoding import (
    ID_ALPHABET, Reader, Writer, b64decode, b64encode, dumps, loads_object,
)
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.group.header import NO_PREVIOUS, EpochHeader, Flag
from domvia_e2ee.group.history import SharedEpoch, build_history
from domvia_e2ee.group.members import RosterEntry
from domvia_e2ee.hazmat import merkle
from domvia_e2ee.padding import pad, padded_size, padme, unpad
from domvia_e2ee.wrap import unwrap, wrap

ids = st.text(alphabet=ID_ALPHABET.decode(), min_size=1, max_size=128)
short_ids = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12)
content_types = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=127)
epochs = st.integers(min_value=1, max_value=0xFFFFFFFF)
secrets = st.binary(min_size=32, max_size=32)
suites = st.sampled_from(list(Suite))
B64URL = string.ascii_letters + string.digits + "-_"
SLOW = settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _identity(name: str, tag: int = 0, post_quantum: bool = False) -> Identity:
    base = bytes([tag]) + name.encode()[:31]
    return Identity(name, x25519_private=base.ljust(32, b"x"), ed25519_seed=base.ljust(32, b"e"),
                    xwing_seed=base.ljust(32, b"q") if post_quantum else None)


# -- base64url, fixed-width integers, length-prefixed fields, JSON ------------------------------

@given(st.binary(max_size=200))
def test_base64url_round_trip(data: bytes) -> None:
    assert b64decode(b64encode(data), "f") == data


@given(st.text(alphabet=B64URL + "=+/ ", max_size=60))
def test_base64url_is_canonical(text: str) -> None:
    try:
        raw = b64decode(text, "f")
    except DomviaError:
        return
    assert b64encode(raw) == text


@given(st.integers(0, 255), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1),
       st.text(alphabet=ID_ALPHABET.decode(), max_size=255), st.binary(max_size=300))
def test_writer_reader_round_trip(u8: int, u32: int, u64: int, text: str, data: bytes) -> None:
    encoded = Writer().u8(u8).u32(u32).u64(u64).str8(text).bytes16(data).getvalue()
    r = Reader(encoded)
    assert (r.u8("a"), r.u32("b"), r.u64("c"), r.str8("d"), r.bytes16("e")) == (u8, u32, u64, text, data)
    r.end()
    # Canonical: the fields' values fix the bytes (no choice of width or padding anywhere).
    assert len(encoded) == 1 + 4 + 8 + 1 + len(text) + 2 + len(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_json_round_trip_and_canonical(obj: dict[str, Any]) -> None:
    encoded = dumps(obj)
    assert loads_object(encoded, "x") == obj
    assert dumps(loads_object(encoded, "x")) == encoded
    # Any other spelling of the same object decodes to the same value and so re-encodes the same.
    spaced = json.dumps(obj, indent=1, ensure_ascii=False)
    assert dumps(loads_object(spaced, "x")) == encoded


# -- padding ------------------------------------------------------------------------------------

@given(st.binary(max_size=5000))
def test_padding_round_trip(plaintext: bytes) -> None:
    padded = pad(plaintext)
    assert len(padded) == padded_size(len(plaintext)) == padme(max(len(plaintext) + 1, 32))
    assert unpad(padded) == plaintext


@given(st.binary(max_size=300), st.integers(0, 80), st.sampled_from([b"\x80", b"\x01", b""]))
def test_padding_is_canonical(plaintext: bytes, zeros: int, marker: bytes) -> None:
    """Only pad()'s own output unpads: a marker and zero run of any other length is refused."""
    candidate = plaintext + marker + bytes(zeros)
    try:
        recovered = unpad(candidate)
    except DomviaError:
        assert candidate != pad(plaintext)
        return
    assert pad(recovered) == candidate


# -- sealed messages ------------------------------------------------------------------------------

@st.composite
def sealed_messages(draw: st.DrawFn) -> tuple[RoomKey, SealedMessage]:
    key = RoomKey(draw(secrets), room_id=draw(ids), epoch=draw(epochs), suite=draw(suites))
    plaintext = draw(st.binary(max_size=300))
    kwargs = {"message_id": draw(ids), "content_type": draw(content_types), "pad": draw(st.booleans())}
    if draw(st.booleans()):
        return key, seal(key, plaintext, sender=_identity(draw(short_ids)), **kwargs)
    return key, seal_unsigned(key, plaintext, sender_id=draw(ids), **kwargs)


@given(sealed_messages())
def test_message_binary_round_trip(pair: tuple[RoomKey, SealedMessage]) -> None:
    _, message = pair
    parsed = SealedMessage.from_bytes(message.to_bytes())
    assert parsed == message
    assert parsed.to_bytes() == message.to_bytes()


@given(sealed_messages())
def test_message_json_round_trip_and_canonical(pair: tuple[RoomKey, SealedMessage]) -> None:
    _, message = pair
    canonical = message.to_json()
    parsed = SealedMessage.from_json(canonical)
    assert parsed == message and parsed.to_json() == canonical
    reordered = json.dumps(dict(reversed(list(json.loads(canonical).items()))), indent=2)
    assert SealedMessage.from_json(reordered).to_json() == canonical


@given(sealed_messages(), st.data())
def test_message_binary_is_canonical(pair: tuple[RoomKey, SealedMessage], data: st.DataObject) -> None:
    """Any byte string that parses is exactly the encoding of what it parsed to: mutate and check."""
    _, message = pair
    wire = bytearray(message.to_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(wire) - 1))
        wire[position] = data.draw(st.integers(0, 255))
    try:
        parsed = SealedMessage.from_bytes(bytes(wire))
    except DomviaError:
        return
    assert parsed.to_bytes() == bytes(wire)
    assert SealedMessage.from_json(parsed.to_json()).to_bytes() == bytes(wire)


@given(sealed_messages())
def test_sealing_round_trip(pair: tuple[RoomKey, SealedMessage]) -> None:
    key, message = pair
    assume(not message.signed)  # signed messages: test_signed_sealing_round_trip, which holds the identity
    opened = open_unsigned(key, message.to_json())
    assert (opened.room_id, opened.epoch, opened.sender_id, opened.message_id, opened.content_type) == (
        message.room_id, message.epoch, message.sender_id, message.message_id, message.content_type)


@given(secrets, ids, epochs, suites, st.binary(max_size=400), short_ids)
def test_signed_sealing_round_trip(secret: bytes, room_id: str, epoch: int, suite: Suite, plaintext: bytes,
                                   sender: str) -> None:
    key = RoomKey(secret, room_id=room_id, epoch=epoch, suite=suite)
    identity = _identity(sender)
    message = seal(key, plaintext, message_id="m", sender=identity)
    assert open_signed(key, message.to_bytes(), sender=identity.public).plaintext == plaintext


@given(secrets, ids, epochs, suites)
def test_room_key_round_trip(secret: bytes, room_id: str, epoch: int, suite: Suite) -> None:
    key = RoomKey(secret, room_id=room_id, epoch=epoch, suite=suite)
    again = RoomKey(bytes(key), room_id=room_id, epoch=epoch, suite=Suite.from_label(suite.label))
    assert again == key and again.key_id == key.key_id
    assert Suite.from_wire(int(suite)) is suite


# -- identities -----------------------------------------------------------------------------------

@SLOW
@given(short_ids, st.integers(0, 255), st.booleans())
def test_identity_round_trips_and_canonical(name: str, tag: int, post_quantum: bool) -> None:
    identity = _identity(name, tag, post_quantum)
    public = identity.public
    canonical = public.to_json()
    again = PublicIdentity.from_json(canonical)
    assert again == public and again.to_json() == canonical
    assert PublicIdentity.from_json(json.dumps(json.loads(canonical), indent=3)).to_json() == canonical
    private = Identity.from_private_dict(loads_object(dumps(identity.to_plaintext_private_dict()), "identity"))
    assert private.public == public and private.to_plaintext_private_dict() == identity.to_plaintext_private_dict()


# -- bundles, slices, history bundles, wrapped keys ------------------------------------------------

@st.composite
def rooms(draw: st.DrawFn) -> tuple[Identity, list[Identity], RoomKey]:
    names = draw(st.lists(short_ids, min_size=1, max_size=6, unique=True))
    members = [_identity(n) for n in names]
    key = RoomKey(draw(secrets), room_id=draw(ids), epoch=draw(st.integers(2, 0xFFFFFFFF)), suite=draw(suites))
    return members[0], members, key


policies = st.builds(RoomPolicy, st.integers(1, 0xFFFFFFFF), st.integers(1, 0xFFFFFFFF), st.booleans())


def _admins(identities: list[Identity]) -> tuple[tuple[str, bytes], ...]:
    return tuple(sorted(((i.participant_id, i.public.fingerprint) for i in identities), key=lambda a: a[0].encode()))


@SLOW
@given(rooms(), st.integers(0, 253_402_300_799), policies, st.data())
def test_bundle_slice_and_announcement_round_trip_and_canonical(room: tuple[Identity, list[Identity], RoomKey],
                                                                issued_at: int, policy: RoomPolicy,
                                                                data: st.DataObject) -> None:
    rotator, members, key = room
    admins = _admins(data.draw(st.lists(st.sampled_from(members), min_size=1, max_size=3, unique_by=id)))
    first = build_bundle(rotator, RoomKey(bytes(32), room_id=key.room_id, epoch=1), [m.public for m in members],
                         kem=WrapKem.X25519, issued_at=0, plan=Plan(admins=admins))
    authority = first.proof_for(rotator.participant_id) if data.draw(st.booleans()) else None
    bundle = build_bundle(rotator, key, [m.public for m in members], kem=WrapKem.X25519, issued_at=issued_at,
                          plan=Plan(data.draw(st.binary(min_size=32, max_size=32).filter(lambda b: b != NO_PREVIOUS)),
                                    policy, admins, authority=authority))
    raw = bundle.to_bytes()
    parsed = Bundle.from_bytes(raw)
    assert parsed == bundle and parsed.to_bytes() == raw
    assert EpochHeader.read(Reader(bundle.header.to_bytes())) == bundle.header
    assert EpochHeader.from_bytes(bundle.header.to_bytes()).epoch_hash() == bundle.header.epoch_hash()
    announcement = bundle.announcement()
    assert Announcement.from_bytes(announcement.to_bytes()) == announcement
    assert Announcement.from_bytes(announcement.to_bytes()).to_bytes() == announcement.to_bytes()
    for member in members:
        piece = bundle.slice_for(member.participant_id)
        again = Slice.from_bytes(piece.to_bytes())
        assert again == piece and again.to_bytes() == piece.to_bytes()
        assert merkle.verify_inclusion(again.member.entry.leaf(), again.index, bundle.header.member_count,
                                       again.path, bundle.header.root)
        assert unwrap(member, again.member.wrapped, kem=WrapKem.X25519, suite=key.suite, room_id=key.room_id,
                      epoch=key.epoch, key_id=key.key_id) == key
        proof = MemberProofFile(key.room_id, key.epoch, bundle.proof_for(member.participant_id))
        assert MemberProofFile.from_bytes(proof.to_bytes()) == proof
        assert proof.proof.verifies(bundle.header.member_count, bundle.header.root)


def _chain(sharer: Identity, members: list[Identity], room_id: str, suite: Suite, first: int,
           anchor: int) -> list[tuple[bytes, RoomKey, tuple[RosterEntry, ...]]]:
    """Headers of epochs first .. anchor - 1, linked by hash, with a key and a roster each."""
    out, previous = [], NO_PREVIOUS if first == 1 else bytes([first]) * 32
    for epoch in range(first, anchor):
        key = RoomKey(bytes([epoch]) * 32, room_id=room_id, epoch=epoch, suite=suite)
        roster = tuple(sorted((RosterEntry.of(m.public, bytes([epoch]) * 32) for m in members),
                              key=lambda e: e.participant_id.encode()))
        header = EpochHeader(WrapKem.X25519, suite, room_id, epoch, key.key_id, previous, sharer.participant_id, 0,
                             Flag(0), RoomPolicy(), _admins([sharer]), len(roster),
                             merkle.Tree([e.leaf() for e in roster]).root)
        out.append((header.to_bytes(), key, roster))
        previous = header.epoch_hash()
    return out


@SLOW
@given(rooms(), st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True))
def test_history_round_trip_and_canonical(room: tuple[Identity, list[Identity], RoomKey], past: list[int]) -> None:
    sharer, members, key = room
    chain = _chain(sharer, members, key.room_id, key.suite, min(past), 51)
    shared = [SharedEpoch(h, k if k.epoch in past else None, r if k.epoch in past else ()) for h, k, r in chain]
    proof = build_bundle(sharer, RoomKey(bytes(32), room_id=key.room_id, epoch=1), [m.public for m in members],
                         kem=WrapKem.X25519, issued_at=0, plan=Plan(admins=_admins([sharer]))).proof_for(
                             sharer.participant_id)
    history = build_history(sharer, members[-1].public, shared, room_id=key.room_id, anchor_epoch=51,
                            kem=WrapKem.X25519, issued_at=7, sharer_proof=proof)
    data = history.to_bytes()
    parsed = HistoryBundle.from_bytes(data)
    assert parsed == history and parsed.to_bytes() == data
    assert [bool(e.wrapped) for e in parsed.entries] == [e.header.epoch in past for e in parsed.entries]


@SLOW
@given(secrets, ids, epochs, short_ids, st.booleans())
def test_wrap_round_trip(secret: bytes, room_id: str, epoch: int, name: str, post_quantum: bool) -> None:
    key = RoomKey(secret, room_id=room_id, epoch=epoch)
    recipient = _identity(name, post_quantum=post_quantum)
    kem = WrapKem.MLKEM768_X25519 if post_quantum else WrapKem.X25519
    wrapped = wrap(key, recipient.public, kem)
    assert len(wrapped) == kem.wrapped_size and WrapKem.from_wire(int(kem)) is kem
    assert unwrap(recipient, wrapped, kem=kem, suite=key.suite, room_id=room_id, epoch=epoch,
                  key_id=key.key_id) == key


@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=40))
def test_merkle_paths_verify_and_bind_their_index(leaves: list[bytes]) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    tree = merkle.Tree(hashes)
    for index, leaf in enumerate(hashes):
        path = tree.path(index)
        assert merkle.root_from_path(leaf, index, len(hashes), path) == tree.root
        for other in range(len(hashes)):
            if other != index and hashes[other] != leaf:
                assert not merkle.verify_inclusion(leaf, other, len(hashes), path, tree.root)


# -- key ring and room state ------------------------------------------------------------------

@SLOW
@given(st.lists(short_ids, min_size=1, max_size=4, unique=True), st.integers(0, 3), st.booleans())
def test_keyring_state_round_trip_and_canonical(names: list[str], rotations: int, allow_unsigned: bool) -> None:
    owner = _identity("owner-x")
    assume("owner-x" not in names)
    ring = KeyRing(owner, allow_unsigned=allow_unsigned, replay_capacity=50)
    others = [_identity(n) for n in names]
    room, _ = Room.create(ring, "room-1", [o.public for o in others])
    for _ in range(rotations):
        room.rotate()
    ring.open(ring.seal("room-1", b"counted", message_id="m-1"))
    state = json.loads(json.dumps(keyring_to_plaintext(ring)))
    again = keyring_from_plaintext(state, owner)
    assert dumps(keyring_to_plaintext(again)) == dumps(state)
    assert again.record("room-1", room.epoch).key == ring.record("room-1", room.epoch).key
    # the room is derived from the key ring: the same view after the round trip
    restored = Room(again, "room-1")
    assert (restored.epoch, restored.members, restored.admins, restored.policy) == (
        room.epoch, room.members, room.admins, room.policy)


@pytest.mark.parametrize("label", ["A256GCM", "XC20P"])
def test_suite_labels_round_trip(label: str) -> None:
    assert Suite.from_label(label).label == label
