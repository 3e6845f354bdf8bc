"""seal/open: round trips, single-bit flips, swapped associated fields, moved messages."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from core_helpers import (
    ID_CHARS, assert_opaque_auth, content_types, fixed_identity, fixed_key, ids, raises_auth, rebuild, seed, suites,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from domvia_e2ee import (
    AuthenticationError, DomviaError, FormatError, Identity, PolicyError, RoomKey, SealedMessage, Suite,
    UnknownKeyError, UnknownSenderError, open, open_unsigned, seal, seal_unsigned,  # noqa: A004
)
from domvia_e2ee.message import FLAG_PADDED, FLAG_SIGNED, MAX_PLAINTEXT
from domvia_e2ee.sealing import _seal_from_parts

ALICE = fixed_identity("alice")
MALLORY = fixed_identity("mallory")

# Sizes up to the maximum: hypothesis's binary() rarely grows past a few hundred bytes, so
# large sizes come from a seeded generator.
plaintexts = st.one_of(
    st.binary(max_size=256),
    st.integers(0, MAX_PLAINTEXT).map(lambda n: random.Random(n).randbytes(n)),
    st.sampled_from([b"", b"\x80", b"\x00" * 31, b"x" * 32, b"\x80\x00\x00", bytes(MAX_PLAINTEXT)]),
)


def _identity(participant_id: str) -> Identity:
    return Identity(participant_id, x25519_private=seed(participant_id, "x"), ed25519_seed=seed(participant_id, "e"))


def _wire(sealed: SealedMessage, form: str) -> SealedMessage | bytes | str:
    if form == "binary":
        return sealed.to_bytes()
    if form == "json-bytes":
        return sealed.to_json().encode()
    if form == "json-str":
        return sealed.to_json()
    return sealed


@settings(max_examples=200)
@given(plaintext=plaintexts, room_id=ids, sender_id=ids, message_id=ids, content_type=content_types,
       epoch=st.integers(1, 2**32 - 1), suite=suites, pad=st.booleans(), signed=st.booleans(),
       form=st.sampled_from(["binary", "json-bytes", "json-str", "object"]))
def test_round_trip(plaintext: bytes, room_id: str, sender_id: str, message_id: str, content_type: str, epoch: int,
                    suite: Suite, pad: bool, signed: bool, form: str) -> None:
    key = RoomKey.generate(room_id=room_id, epoch=epoch, suite=suite)
    if signed:
        sender = _identity(sender_id)
        sealed = seal(key, plaintext, message_id=message_id, sender=sender, content_type=content_type, pad=pad)
        opened = open(key, _wire(sealed, form), sender=sender.public)
    else:
        sealed = seal_unsigned(key, plaintext, message_id=message_id, sender_id=sender_id,
                               content_type=content_type, pad=pad)
        opened = open_unsigned(key, _wire(sealed, form))
    assert opened.plaintext == plaintext
    assert (opened.room_id, opened.epoch, opened.sender_id, opened.message_id, opened.content_type, opened.signed) == (
        room_id, epoch, sender_id, message_id, content_type, signed)
    assert sealed.padded is pad and sealed.signed is signed
    assert SealedMessage.from_json(sealed.to_json()).to_bytes() == sealed.to_bytes()
    assert SealedMessage.from_bytes(sealed.to_bytes()).to_dict() == sealed.to_dict()


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize("size", [0, 1, 30, 31, 32, 33, 4095, 4096, 4097, MAX_PLAINTEXT - 1, MAX_PLAINTEXT])
def test_round_trip_boundary_sizes(suite: Suite, size: int) -> None:
    key = fixed_key(suite=suite)
    plaintext = random.Random(size).randbytes(size)
    for pad in (True, False):
        sealed = seal(key, plaintext, message_id=f"m-{size}-{pad}", sender=ALICE, pad=pad)
        assert open(key, SealedMessage.from_json(sealed.to_json()), sender=ALICE.public).plaintext == plaintext
        assert open(key, sealed.to_bytes(), sender=ALICE.public).plaintext == plaintext


def test_plaintext_over_the_limit_is_refused_before_any_state_changes() -> None:
    key = fixed_key()
    with pytest.raises(FormatError) as info:
        seal(key, bytes(MAX_PLAINTEXT + 1), message_id="m", sender=ALICE)
    assert info.value.field == "plaintext"
    assert key.sealed_count("alice") == 0


def test_padding_hides_short_lengths_and_unpadded_does_not() -> None:
    key = fixed_key()
    padded = {len(seal(key, b"x" * n, message_id=f"p{n}", sender=ALICE).ciphertext) for n in range(32)}
    unpadded = {len(seal(key, b"x" * n, message_id=f"u{n}", sender=ALICE, pad=False).ciphertext) for n in range(32)}
    assert padded == {32 + 16}
    assert unpadded == {n + 16 for n in range(32)}


def test_every_message_has_a_fresh_nonce() -> None:
    key = fixed_key()
    nonces = {seal(key, b"same", message_id="same", sender=ALICE).nonce for _ in range(200)}
    assert len(nonces) == 200


def test_seal_takes_no_nonce_and_ids_are_keyword_only() -> None:
    key = fixed_key()
    with pytest.raises(TypeError):
        seal(key, b"x", "m-1", ALICE)  # type: ignore[misc]
    with pytest.raises(TypeError):
        seal(key, b"x", message_id="m", sender=ALICE, nonce=bytes(12))  # type: ignore[call-arg]


@pytest.mark.parametrize("bad", ["", "a b", "é", "x" * 129, "tab\t", "new\nline"])
def test_invalid_ids_are_refused(bad: str) -> None:
    key = fixed_key()
    with pytest.raises(FormatError) as info:
        seal(key, b"x", message_id=bad, sender=ALICE)
    assert info.value.field == "message_id"
    with pytest.raises(FormatError) as info:
        seal_unsigned(key, b"x", message_id="m", sender_id=bad)
    assert info.value.field == "sender_id"
    with pytest.raises(FormatError):
        RoomKey.generate(room_id=bad, epoch=1)


@pytest.mark.parametrize("bad", ["", " ", "a" * 128, "text/é", "a\x7f"])
def test_invalid_content_types_are_refused(bad: str) -> None:
    with pytest.raises(FormatError) as info:
        seal(fixed_key(), b"x", message_id="m", sender=ALICE, content_type=bad)
    assert info.value.field == "content_type"


# -- single-bit flips ---------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Byte offsets of the header fields of one sealed message."""

    room: range
    epoch: range
    key_id: range
    sender_len: int
    sender: range
    ctype_len: int
    ctype: range
    msgid_len: int
    msgid: range


def _layout(sealed: SealedMessage) -> Layout:
    room = range(7, 7 + len(sealed.room_id))
    epoch = range(room.stop, room.stop + 4)
    key_id = range(epoch.stop, epoch.stop + 32)
    sender = range(key_id.stop + 1, key_id.stop + 1 + len(sealed.sender_id))
    ctype = range(sender.stop + 1, sender.stop + 1 + len(sealed.content_type))
    msgid = range(ctype.stop + 1, ctype.stop + 1 + len(sealed.message_id))
    assert msgid.stop == sealed.header_size
    return Layout(room, epoch, key_id, key_id.stop, sender, sender.stop, ctype, ctype.stop, msgid)


def _is_id_byte(value: int) -> bool:
    return chr(value) in ID_CHARS


def _expected(sealed: SealedMessage, index: int, bit: int, new: int) -> tuple[type[DomviaError], str | None]:
    """The one error a flip of bit `bit` of byte `index` must raise, or (FormatError, None) for a
    flip of a length prefix, which shifts every later field: any FormatError or later check."""
    layout = _layout(sealed)
    signed = sealed.signature is not None
    if index < 4:
        return FormatError, "magic"
    if index == 4:
        return FormatError, "suite"
    if index == 5:
        return _expected_flags(sealed, bit)
    if index in layout.room:
        return (UnknownKeyError, None) if _is_id_byte(new) else (FormatError, "room_id")
    if index in layout.epoch:
        epoch = sealed.epoch ^ (1 << (8 * (layout.epoch.stop - 1 - index) + bit))
        return (UnknownKeyError, None) if epoch else (FormatError, "epoch")
    if index in layout.key_id:
        return UnknownKeyError, None
    if index in layout.sender:
        if not _is_id_byte(new):
            return FormatError, "sender_id"
        # open() is told who the sender is; open_unsigned derives another sender's key.
        return (UnknownSenderError, None) if signed else (AuthenticationError, None)
    if index in layout.ctype:
        return (AuthenticationError, None) if 0x21 <= new <= 0x7E else (FormatError, "content_type")
    if index in layout.msgid:
        return (AuthenticationError, None) if _is_id_byte(new) else (FormatError, "message_id")
    if index in (6, layout.sender_len, layout.ctype_len, layout.msgid_len):
        return FormatError, None
    return AuthenticationError, None  # nonce, ciphertext, tag, signature


def _expected_flags(sealed: SealedMessage, bit: int) -> tuple[type[DomviaError], str | None]:
    flags = sealed.flags ^ (1 << bit)
    if bit > 1:
        return FormatError, "flags"
    signature_size = 64 if flags & FLAG_SIGNED else 0
    ciphertext = len(sealed.wire) - sealed.header_size - len(sealed.nonce) - signature_size
    if ciphertext < 16 or (flags & FLAG_PADDED and ciphertext - 16 < 32):
        return FormatError, "ciphertext"
    if bit == 0:  # the signed flag: open() refuses unsigned, open_unsigned() refuses signed
        return PolicyError, None
    return AuthenticationError, None


def _open(key: RoomKey, data: bytes, signed: bool) -> None:
    if signed:
        open(key, data, sender=ALICE.public)
    else:
        open_unsigned(key, data)


SAMPLES = [
    (suite, signed, pad, plaintext)
    for suite in Suite
    for signed, pad, plaintext in [(True, True, b"hi all"), (False, True, b"hello"), (True, False, b"x" * 40),
                                   (False, False, b"")]
]


class _Reject(Exception):
    def __init__(self, kind: type[DomviaError], field: str | None = None) -> None:
        super().__init__(kind, field)
        self.kind, self.field = kind, field


def reference_outcome(wire: bytes, key: RoomKey, signed_open: bool) -> tuple[type[DomviaError], str | None]:
    """What opening wire must raise, decided from the spec's layout alone: the first malformed
    field in wire order is a FormatError naming it; a well-formed header that names another key
    is UnknownKeyError; the wrong mode is PolicyError; another sender, UnknownSenderError;
    anything else that differs fails authentication."""
    try:
        return _reference(wire, key, signed_open)
    except _Reject as reject:
        return reject.kind, reject.field


def _reference(wire: bytes, key: RoomKey, signed_open: bool) -> tuple[type[DomviaError], str | None]:
    pos = 6

    def str8(field: str, valid: Callable[[bytes], bool]) -> bytes:
        nonlocal pos
        if pos >= len(wire) or pos + 1 + wire[pos] > len(wire):
            raise _Reject(FormatError, field)
        value, pos = wire[pos + 1:pos + 1 + wire[pos]], pos + 1 + wire[pos]
        if not valid(value):
            raise _Reject(FormatError, field)
        return value

    def is_id(value: bytes) -> bool:
        return 0 < len(value) <= 128 and all(chr(b) in ID_CHARS for b in value)

    if wire[:4] != b"DVM\x01":
        raise _Reject(FormatError, "magic")
    if len(wire) < 6 or wire[4] not in (1, 2):
        raise _Reject(FormatError, "suite")
    suite, flags = wire[4], wire[5]
    if flags & ~(FLAG_SIGNED | FLAG_PADDED):
        raise _Reject(FormatError, "flags")
    room = str8("room_id", is_id)
    if pos + 36 > len(wire):
        raise _Reject(FormatError, "epoch" if pos + 4 > len(wire) else "key_id")
    epoch, key_id, pos = int.from_bytes(wire[pos:pos + 4], "big"), wire[pos + 4:pos + 36], pos + 36
    if epoch == 0:
        raise _Reject(FormatError, "epoch")
    sender = str8("sender_id", is_id)
    str8("content_type", lambda v: 0 < len(v) <= 127 and all(0x21 <= b <= 0x7E for b in v))
    str8("message_id", is_id)
    nonce_end = pos + (12 if suite == 1 else 24)
    body = len(wire) - (64 if flags & FLAG_SIGNED else 0) - nonce_end - 16
    if body < 0:
        raise _Reject(FormatError, "nonce" if nonce_end > len(wire) else "ciphertext")
    if flags & FLAG_PADDED and body < 32:
        raise _Reject(FormatError, "ciphertext")
    if (room.decode(), epoch, suite, key_id) != (key.room_id, key.epoch, key.suite, key.key_id):
        return UnknownKeyError, None
    if bool(flags & FLAG_SIGNED) != signed_open:
        return PolicyError, None
    if signed_open and sender != b"alice":
        return UnknownSenderError, None
    return AuthenticationError, None


@pytest.mark.parametrize(("suite", "signed", "pad", "plaintext"), SAMPLES)
def test_every_single_bit_flip_of_a_binary_message_is_rejected(suite: Suite, signed: bool, pad: bool,
                                                               plaintext: bytes) -> None:
    """Each flip raises exactly the error the reference decides; outside the length prefixes a
    second, per-field oracle (_expected) must agree with it."""
    key = fixed_key(suite=suite)
    sealed = _seal_from_parts(key, plaintext, message_id="msg-17", sender_id="alice", content_type="text/plain",
                              pad=pad, nonce=seed("nonce")[: suite.nonce_size], signer=ALICE if signed else None)
    _open(key, sealed.to_bytes(), signed)  # the sample itself opens
    assert reference_outcome(sealed.to_bytes(), key, signed) == (AuthenticationError, None)
    wire = sealed.to_bytes()
    seen: set[type[DomviaError]] = set()
    for index in range(len(wire)):
        for bit in range(8):
            mutated = bytearray(wire)
            mutated[index] ^= 1 << bit
            kind, field = reference_outcome(bytes(mutated), key, signed)
            region_kind, region_field = _expected(sealed, index, bit, mutated[index])
            if region_field is not None or region_kind is not FormatError:  # not a length prefix
                assert (kind, field) == (region_kind, region_field), f"oracles disagree at byte {index} bit {bit}"
            with pytest.raises(DomviaError) as info:
                _open(key, bytes(mutated), signed)
            error = info.value
            where = f"byte {index} bit {bit}: {error!r}, expected {kind.__name__} {field}"
            assert type(error) is kind, where
            if field is not None:
                assert error.field == field, where  # type: ignore[attr-defined]
            if kind is AuthenticationError:
                assert_opaque_auth(error)
            seen.add(kind)
    assert {FormatError, AuthenticationError, UnknownKeyError} <= seen
    assert (PolicyError in seen) is signed  # an unsigned sample is too short to lose 64 bytes to a signature


# -- JSON fields mutated ------------------------------------------------------------------


def _signed_sample() -> tuple[RoomKey, SealedMessage]:
    key = fixed_key()
    return key, _seal_from_parts(key, b"launch on friday", message_id="msg-1", sender_id="alice",
                                 content_type="text/plain", pad=True, nonce=seed("n")[:12], signer=ALICE)


def _flip_b64(text: str) -> str:
    """The same length of base64url with one character changed in its first byte."""
    return ("B" if text[0] == "A" else "A") + text[1:]


JSON_MUTATIONS = [
    ("v", 2, FormatError, "v"),
    ("s", "XC20P", FormatError, "n"),  # the nonce no longer fits the suite
    ("s", "A128GCM", FormatError, "s"),
    ("r", "room-2", UnknownKeyError, None),
    ("e", 2, UnknownKeyError, None),
    ("e", 0, FormatError, "e"),
    ("k", "flip", UnknownKeyError, None),
    ("u", "bob", UnknownSenderError, None),
    ("u", "alice ", FormatError, "u"),
    ("t", "text/html", AuthenticationError, None),
    ("m", "msg-2", AuthenticationError, None),
    ("p", 0, AuthenticationError, None),
    ("p", 2, FormatError, "p"),
    ("n", "flip", AuthenticationError, None),
    ("c", "flip", AuthenticationError, None),
    ("g", "flip", AuthenticationError, None),
    ("g", None, PolicyError, None),  # removed: an unsigned message, refused by open()
]


@pytest.mark.parametrize(("field", "value", "kind", "error_field"), JSON_MUTATIONS)
def test_each_json_field_mutated_is_rejected(field: str, value: object, kind: type[DomviaError],
                                             error_field: str | None) -> None:
    key, sealed = _signed_sample()
    obj = sealed.to_dict()
    if value is None:
        del obj[field]
    else:
        obj[field] = _flip_b64(obj[field]) if value == "flip" else value
    with pytest.raises(DomviaError) as info:
        open(key, json.dumps(obj), sender=ALICE.public)
    assert type(info.value) is kind
    if error_field is not None:
        assert info.value.field == error_field  # type: ignore[attr-defined]
    if kind is AuthenticationError:
        assert_opaque_auth(info.value)


# -- associated fields swapped --------------------------------------------------------------


def _sample(signed: bool, suite: Suite = Suite.AES_256_GCM) -> tuple[RoomKey, SealedMessage]:
    key = fixed_key(suite=suite)
    sealed = _seal_from_parts(key, b"the launch is on friday", message_id="msg-1", sender_id="alice",
                              content_type="text/plain", pad=True, nonce=seed("n")[: suite.nonce_size],
                              signer=ALICE if signed else None)
    return key, sealed


def _open_as(key: RoomKey, data: bytes, signed: bool, sender: Identity = ALICE) -> None:
    if signed:
        open(key, data, sender=sender.public)
    else:
        open_unsigned(key, data)


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("suite", list(Suite))
def test_swapped_message_id_content_type_or_padding_flag_is_rejected(signed: bool, suite: Suite) -> None:
    key, sealed = _sample(signed, suite)
    for changes in ({"message_id": "msg-2"}, {"content_type": "text/html"}, {"flags": sealed.flags ^ FLAG_PADDED}):
        raises_auth(_open_as, key, rebuild(sealed, **changes), signed)
        # Even a valid signature by the sender itself does not make the AEAD accept the change.
        if signed:
            raises_auth(_open_as, key, rebuild(sealed, signer=ALICE, **changes), signed)


@pytest.mark.parametrize("signed", [True, False])
def test_swapped_sender_is_rejected_even_when_the_claimant_signs(signed: bool) -> None:
    """Mallory, a member, takes Alice's message, names herself the sender and signs it."""
    key, sealed = _sample(signed)
    claimed = rebuild(sealed, sender_id="mallory", signer=MALLORY if signed else None)
    raises_auth(_open_as, key, claimed, signed, MALLORY)
    if signed:  # and a signature by someone who is not the named sender never verifies
        raises_auth(open, key, rebuild(sealed, signer=MALLORY), sender=ALICE.public)


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("field", ["room_id", "epoch", "suite"])
def test_moved_to_another_room_epoch_or_suite_under_the_same_secret_is_rejected(signed: bool, field: str) -> None:
    """The worst case for the mover: the other room (epoch, suite) uses the very same secret,
    and the header carries that key's id, so only the associated data can catch it."""
    key, sealed = _sample(signed)
    target = {"room_id": dict(room_id="room-2"), "epoch": dict(epoch=2), "suite": dict(suite=Suite.XCHACHA20_POLY1305)}
    other = fixed_key(secret=bytes(key), **{"room_id": key.room_id, "epoch": key.epoch, "suite": key.suite,
                                            **target[field]})
    assert other.key_id != key.key_id
    changes = dict(target[field], key_id=other.key_id)
    if field == "suite":
        changes["nonce"] = sealed.nonce + bytes(12)
    moved = rebuild(sealed, signer=ALICE if signed else None, **changes)
    raises_auth(_open_as, other, moved, signed)
    with pytest.raises(UnknownKeyError):  # and the original key refuses it by its header
        _open_as(key, moved, signed)


@pytest.mark.parametrize("signed", [True, False])
def test_swapped_key_id_is_rejected(signed: bool) -> None:
    key, sealed = _sample(signed)
    other = fixed_key(secret=seed("another secret"))
    with pytest.raises(UnknownKeyError):
        _open_as(key, rebuild(sealed, key_id=other.key_id), signed)
    raises_auth(_open_as, other, rebuild(sealed, key_id=other.key_id, signer=ALICE if signed else None), signed)


def test_stripping_the_signature_does_not_make_an_unsigned_message() -> None:
    key, sealed = _sample(True)
    stripped = rebuild(sealed, flags=sealed.flags & ~FLAG_SIGNED, keep_signature=False)
    raises_auth(open_unsigned, key, stripped)


def test_signing_an_unsigned_message_does_not_make_a_signed_one() -> None:
    key, sealed = _sample(False)
    raises_auth(open, key, rebuild(sealed, flags=sealed.flags | FLAG_SIGNED, signer=ALICE), sender=ALICE.public)


@pytest.mark.parametrize("signed", [True, False])
def test_moved_to_another_message_id_is_rejected(signed: bool) -> None:
    key, sealed = _sample(signed)
    raises_auth(_open_as, key, rebuild(sealed, message_id="msg-2", signer=ALICE if signed else None), signed)


def test_open_with_another_key_is_unknown_key() -> None:
    _, sealed = _sample(True)
    for other in (fixed_key(epoch=2), fixed_key(room_id="room-2"), fixed_key(secret=seed("x")),
                  fixed_key(suite=Suite.XCHACHA20_POLY1305)):
        with pytest.raises(UnknownKeyError):
            open(other, sealed, sender=ALICE.public)


def test_signed_and_unsigned_modes_do_not_mix() -> None:
    key, signed = _sample(True)
    _, unsigned = _sample(False)
    with pytest.raises(PolicyError):
        open(key, unsigned, sender=ALICE.public)
    with pytest.raises(PolicyError):
        open_unsigned(key, signed)


def test_open_with_the_wrong_sender_identity() -> None:
    key, sealed = _sample(True)
    with pytest.raises(UnknownSenderError):
        open(key, sealed, sender=MALLORY.public)
    impostor = Identity("alice", x25519_private=seed("i", "x"), ed25519_seed=seed("i", "e"))
    raises_auth(open, key, sealed, sender=impostor.public)


@pytest.mark.parametrize("signed", [True, False])
def test_open_reports_only_what_the_wire_authenticates(signed: bool) -> None:
    """A SealedMessage is a tuple: _replace() can make its fields disagree with its wire.
    open() must report the authenticated wire's metadata, never the edited fields."""
    key, sealed = _sample(signed)
    edited = sealed._replace(message_id="msg-999", content_type="text/html")
    opened = open(key, edited, sender=ALICE.public) if signed else open_unsigned(key, edited)
    assert (opened.message_id, opened.content_type) == ("msg-1", "text/plain")
    assert SealedMessage.parse(edited) == sealed
    swapped = sealed._replace(ciphertext=sealed.ciphertext[:-1] + bytes((sealed.ciphertext[-1] ^ 1,)))
    opened = open(key, swapped, sender=ALICE.public) if signed else open_unsigned(key, swapped)
    assert opened.plaintext == b"the launch is on friday"
