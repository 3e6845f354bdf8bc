"""Sealed message wire forms: layout, and strict parsing that names the offending field."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import pytest
from core_helpers import fixed_identity, fixed_key, seed
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee import DomviaError, FormatError, SealedMessage, Suite
from domvia_e2ee.encoding import b64encode
from domvia_e2ee.message import (
    FLAG_PADDED, FLAG_SIGNED, MAX_MESSAGE_BYTES, MAX_MESSAGE_JSON, MAX_PLAINTEXT, PADDED_LIMIT, header_prefix,
)
from domvia_e2ee.sealing import _seal_from_parts

ALICE = fixed_identity("alice")


def _sealed(signed: bool = True, pad: bool = True, suite: Suite = Suite.AES_256_GCM,
            plaintext: bytes = b"hello") -> SealedMessage:
    key = fixed_key(suite=suite)
    return _seal_from_parts(key, plaintext, message_id="msg-1", sender_id="alice", content_type="text/plain",
                            pad=pad, nonce=seed("nonce")[: suite.nonce_size], signer=ALICE if signed else None)


def test_binary_layout_is_as_specified() -> None:
    sealed = _sealed()
    key = fixed_key()
    expected_header = (b"DVM\x01" + bytes((1, FLAG_SIGNED | FLAG_PADDED)) + b"\x06room-1" + struct.pack(">I", 1)
                       + key.key_id + b"\x05alice" + b"\x0atext/plain" + b"\x05msg-1")
    assert sealed.header == expected_header
    assert sealed.wire == expected_header + sealed.nonce + sealed.ciphertext + sealed.signature
    assert len(sealed.nonce) == 12 and len(sealed.ciphertext) == 32 + 16 and len(sealed.signature or b"") == 64


def test_json_form_is_as_specified() -> None:
    sealed = _sealed()
    obj = json.loads(sealed.to_json())
    assert sorted(obj) == ["c", "e", "g", "k", "m", "n", "p", "r", "s", "t", "u", "v"]
    assert (obj["v"], obj["s"], obj["r"], obj["e"], obj["u"], obj["t"], obj["m"], obj["p"]) == (
        1, "A256GCM", "room-1", 1, "alice", "text/plain", "msg-1", 1)
    assert obj["k"] == b64encode(fixed_key().key_id)
    assert sealed.to_json() == json.dumps(obj, separators=(",", ":"), sort_keys=True)
    assert "g" not in json.loads(_sealed(signed=False).to_json())
    assert json.loads(_sealed(suite=Suite.XCHACHA20_POLY1305).to_json())["s"] == "XC20P"


def test_parse_accepts_both_forms_and_objects() -> None:
    sealed = _sealed()
    for form in (sealed, sealed.to_bytes(), sealed.to_json(), sealed.to_json(), bytearray(sealed.to_bytes())):
        assert SealedMessage.parse(form).to_bytes() == sealed.to_bytes()  # type: ignore[arg-type]


def test_repr_shows_metadata_only() -> None:
    text = repr(_sealed(plaintext=b"secret plan"))
    assert "room-1" in text and "msg-1" in text
    assert "secret" not in text


# -- binary form: strict ------------------------------------------------------------------------


def _fail_binary(data: bytes, field: str) -> None:
    with pytest.raises(FormatError) as info:
        SealedMessage.from_bytes(data)
    assert info.value.field == field, info.value


def _header(**changes: Any) -> bytes:
    fields: dict[str, Any] = dict(suite=Suite.AES_256_GCM, flags=0, room_id="room-1", epoch=1, key_id=bytes(32),
                                  sender_id="alice", content_type="text/plain")
    fields.update(changes)
    return header_prefix(**fields)


BODY = b"\x03m-1" + bytes(12) + bytes(48)


@pytest.mark.parametrize(("data", "field"), [
    (b"", "magic"),
    (b"DVM", "magic"),
    (b"DVM\x02" + _header()[4:] + BODY, "magic"),  # an unknown version
    (b"DVB\x01" + _header()[4:] + BODY, "magic"),  # a bundle's magic
    (b"DVM\x01", "suite"),
    (_header(suite=3) + BODY, "suite"),
    (_header(suite=0) + BODY, "suite"),
    (_header(flags=4) + BODY, "flags"),
    (_header(flags=0x80) + BODY, "flags"),
    (b"DVM\x01\x01\x00", "room_id"),
    (b"DVM\x01\x01\x00\x07room-1", "room_id"),
    (b"DVM\x01\x01\x00\x00" + _header()[13:] + BODY, "room_id"),  # empty
    (_header(room_id="room 1") + BODY, "room_id"),
    (b"DVM\x01\x01\x00\x06room-1\x00\x00", "epoch"),
    (_header(epoch=0) + BODY, "epoch"),
    (_header()[:20], "key_id"),
    (_header(sender_id="al ce") + BODY, "sender_id"),
    (_header(sender_id="al\xe9ce".encode("latin-1").decode("latin-1")) + BODY, "sender_id"),
    (_header(content_type="text plain") + BODY, "content_type"),
    (_header(), "message_id"),
    (_header() + b"\x00" + bytes(60), "message_id"),
    (_header() + b"\x03m 1" + bytes(60), "message_id"),
    (_header() + b"\x09m-1", "message_id"),
    (_header() + b"\x03m-1" + bytes(5), "nonce"),
    (_header() + b"\x03m-1" + bytes(12) + bytes(15), "ciphertext"),
    (_header(flags=FLAG_SIGNED) + b"\x03m-1" + bytes(12) + bytes(16) + bytes(63), "ciphertext"),
    (_header(flags=FLAG_PADDED) + b"\x03m-1" + bytes(12) + bytes(31 + 16), "ciphertext"),
    (_header() + b"\x03m-1" + bytes(12) + bytes(MAX_PLAINTEXT + 17), "ciphertext"),
    (_header(flags=FLAG_PADDED) + b"\x03m-1" + bytes(12) + bytes(PADDED_LIMIT + 17), "ciphertext"),
    (bytes(MAX_MESSAGE_BYTES + 1), "message"),
])
def test_malformed_binary_is_a_format_error_naming_the_field(data: bytes, field: str) -> None:
    _fail_binary(data, field)


def test_largest_bodies_parse() -> None:
    SealedMessage.from_bytes(_header() + b"\x03m-1" + bytes(12) + bytes(MAX_PLAINTEXT + 16))
    SealedMessage.from_bytes(_header(flags=FLAG_PADDED) + b"\x03m-1" + bytes(12) + bytes(PADDED_LIMIT + 16))
    xchacha = _sealed(signed=True, pad=True, suite=Suite.XCHACHA20_POLY1305, plaintext=bytes(MAX_PLAINTEXT))
    assert len(xchacha.to_bytes()) <= MAX_MESSAGE_BYTES
    assert len(xchacha.to_json()) <= MAX_MESSAGE_JSON


def test_non_ascii_in_a_length_prefixed_id_is_a_format_error() -> None:
    data = bytearray(_sealed(signed=False).to_bytes())
    data[7] = 0xE9  # first byte of the room id
    _fail_binary(bytes(data), "room_id")


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise_anything_but_format_error(data: bytes) -> None:
    for candidate in (data, b"DVM\x01" + data, _header() + data):
        with contextlib.suppress(FormatError):
            SealedMessage.from_bytes(candidate)


@given(st.integers(0, 200), st.data())
def test_truncations_and_extensions_of_a_valid_message(cut: int, data: st.DataObject) -> None:
    wire = _sealed().to_bytes()
    truncated = wire[: min(cut, len(wire) - 1)]
    with pytest.raises(FormatError):
        SealedMessage.from_bytes(truncated[: wire.index(b"msg-1")])
    with contextlib.suppress(FormatError):
        SealedMessage.from_bytes(truncated)
    extended = wire + data.draw(st.binary(min_size=1, max_size=64))
    parsed = SealedMessage.from_bytes(extended)  # trailing bytes belong to ciphertext and fail authentication
    assert parsed.wire == extended


# -- JSON form: strict ----------------------------------------------------------------------------


def _fail_json(obj: dict[str, Any] | str | bytes, field: str) -> None:
    data = obj if isinstance(obj, (str, bytes)) else json.dumps(obj)
    with pytest.raises(FormatError) as info:
        SealedMessage.from_json(data)
    assert info.value.field == field, info.value


def _obj(**changes: Any) -> dict[str, Any]:
    obj = _sealed().to_dict()
    obj.update(changes)
    return obj


@pytest.mark.parametrize("field", ["k", "n", "c", "g"])
def test_json_base64url_must_be_canonical(field: str) -> None:
    obj = _sealed().to_dict()
    value = obj[field]
    _fail_json(_obj(**{field: value + "="}), field)  # padding characters
    _fail_json(_obj(**{field: value + "=" * (-len(value) % 4 or 4)}), field)
    _fail_json(_obj(**{field: value.replace("-", "+").replace("_", "/") if ("-" in value or "_" in value)
                       else value[:-1] + "+"}), field)  # the standard alphabet
    _fail_json(_obj(**{field: value[:-1] + "." }), field)
    _fail_json(_obj(**{field: " " + value}), field)
    _fail_json(_obj(**{field: value + "\n"}), field)
    _fail_json(_obj(**{field: 17}), field)


@pytest.mark.parametrize("field", ["k", "c", "g"])  # nonces are 12 or 24 bytes: no partial group
def test_json_base64url_with_non_zero_trailing_bits_is_refused(field: str) -> None:
    obj = _sealed(pad=False, plaintext=b"x").to_dict()
    value = obj[field]
    assert len(value) % 4 in (2, 3), "every sample field ends in a partial group"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(value[-1])
    unused = 0b1111 if len(value) % 4 == 2 else 0b11
    assert last & unused == 0
    for bits in range(1, unused + 1):
        mutated = value[:-1] + alphabet[last | bits]
        _fail_json(dict(obj, **{field: mutated}), field)


@pytest.mark.parametrize(("field", "value"), [
    ("k", b64encode(bytes(31))), ("k", b64encode(bytes(33))), ("n", b64encode(bytes(11))), ("n", b64encode(bytes(24))),
    ("g", b64encode(bytes(63))), ("g", b64encode(bytes(65))), ("c", b64encode(bytes(15))), ("c", ""),
])
def test_json_wrong_lengths(field: str, value: str) -> None:
    _fail_json(_obj(**{field: value}), field)


@pytest.mark.parametrize(("field", "value"), [
    ("v", 2), ("v", 0), ("v", "1"), ("v", True), ("v", 1.0),
    ("s", "A128GCM"), ("s", 1), ("s", "a256gcm"), ("s", None),
    ("r", ""), ("r", "a b"), ("r", 7), ("r", "x" * 129),
    ("e", 0), ("e", 2**32), ("e", "1"), ("e", 1.5), ("e", True), ("e", -1),
    ("u", ""), ("u", None), ("t", ""), ("t", "a b"), ("t", 3), ("m", ""), ("m", ["m"]),
    ("p", 2), ("p", True), ("p", "1"), ("p", -1),
])
def test_json_invalid_values(field: str, value: object) -> None:
    _fail_json(_obj(**{field: value}), field)


@pytest.mark.parametrize("field", ["v", "s", "r", "e", "k", "u", "t", "m", "p", "n", "c"])
def test_json_missing_field(field: str) -> None:
    obj = _obj()
    del obj[field]
    _fail_json(obj, field)


@pytest.mark.parametrize("field", ["x", "sig", "V", ""])
def test_json_unknown_field(field: str) -> None:
    _fail_json(_obj(**{field: 1}), field)


@pytest.mark.parametrize("field", ["v", "m", "c", "g"])
def test_json_duplicate_field(field: str) -> None:
    text = _sealed().to_json()
    obj = _sealed().to_dict()
    duplicated = text[:-1] + "," + json.dumps(field) + ":" + json.dumps(obj[field]) + "}"
    _fail_json(duplicated, field)


@pytest.mark.parametrize("text", ["", "[]", "1", "null", '"m"', "{", "{'v':1}", '{"v":NaN}', "\xff", "[" * 100000])
def test_json_not_an_object(text: str) -> None:
    with pytest.raises(FormatError) as info:
        SealedMessage.from_json(text)
    assert info.value.field in ("message", "json")


def test_json_nan_and_infinity_are_refused() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        text = _sealed().to_json().replace('"e":1', f'"e":{constant}')
        with pytest.raises(FormatError):
            SealedMessage.from_json(text)


def test_json_oversized_input() -> None:
    padding = " " * (MAX_MESSAGE_JSON + 1)
    _fail_json(padding + _sealed().to_json(), "message")
    _fail_json(_obj(c=b64encode(bytes(PADDED_LIMIT + 17))), "c")


def test_json_and_binary_parse_to_the_same_message() -> None:
    for signed in (True, False):
        for pad in (True, False):
            sealed = _sealed(signed=signed, pad=pad)
            assert SealedMessage.from_json(sealed.to_json()) == SealedMessage.from_bytes(sealed.to_bytes())


@given(st.dictionaries(st.sampled_from(["v", "s", "r", "e", "k", "u", "t", "m", "p", "n", "c", "g", "z"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-2, 2**33), st.text(max_size=40),
                                 st.lists(st.integers(), max_size=2))))
def test_arbitrary_json_objects_raise_format_errors_only(obj: dict[str, Any]) -> None:
    base = _sealed().to_dict()
    base.update(obj)
    try:
        SealedMessage.from_json(json.dumps(base))
    except FormatError:
        pass
    except DomviaError as error:  # pragma: no cover - a failure message worth reading
        pytest.fail(f"{type(error).__name__} instead of FormatError: {error}")


def _escape_some(text: str, positions: list[int]) -> str:
    """A JSON string literal for text with some characters written as \\uXXXX escapes."""
    body = "".join(f"\\u{ord(ch):04x}" if i in positions else ch for i, ch in enumerate(text))
    return '"' + body + '"'


@given(st.randoms(use_true_random=False), st.booleans(), st.booleans(), st.sampled_from([",", ", ", " ,\n"]),
       st.sampled_from([":", ": ", " :\t"]), st.lists(st.integers(0, 10), max_size=3))
def test_every_json_spelling_of_a_message_parses_to_the_same_message(
        rnd: Any, signed: bool, pad: bool, comma: str, colon: str, escaped: list[int]) -> None:
    """Key order, whitespace and string escapes are JSON spelling, not meaning: whatever path the
    parser takes, the message is the one to_json wrote."""
    sealed = _sealed(signed=signed, pad=pad)
    obj = sealed.to_dict()
    keys = list(obj)
    rnd.shuffle(keys)
    parts = []
    for key in keys:
        value = obj[key]
        literal = _escape_some(value, escaped) if isinstance(value, str) else json.dumps(value)
        parts.append(json.dumps(key) + colon + literal)
    text = "{" + comma.join(parts) + "}"
    assert SealedMessage.from_json(text) == sealed
    assert SealedMessage.from_json(text.encode()) == sealed
    assert SealedMessage.from_json(sealed.to_json()) == sealed


@given(st.sampled_from(["v", "s", "r", "e", "k", "u", "t", "m", "p", "n", "c", "g"]),
       st.sampled_from(['"', "\\", "\u00e9", "\x00", " ", "\u2028"]))
def test_json_strings_with_characters_outside_their_alphabet_are_refused(field: str, char: str) -> None:
    obj = _sealed().to_dict()
    value = obj[field]
    obj[field] = (value[:1] + char + value[1:]) if isinstance(value, str) else char
    if field == "t" and 0x21 <= ord(char) <= 0x7E:  # a content type is any printable ASCII
        assert SealedMessage.from_json(json.dumps(obj)).content_type == obj["t"]
        return
    _fail_json(obj, field)


def _outcome(text: str) -> tuple[str, object]:
    try:
        return "ok", SealedMessage.from_json(text)
    except FormatError as error:
        return "error", error.field


JSON_EDITS = [*'"\\{}[],:0123456789-_AZaz/+= .\x00é', "\\u0041", '\\"', "1e3", "true", "null"]


@given(st.booleans(), st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(JSON_EDITS)), min_size=1, max_size=3))
def test_json_outcome_does_not_depend_on_insignificant_whitespace(signed: bool, edits: list[tuple[int, str]]) -> None:
    """Leading whitespace changes no JSON value, so an edited message must parse (or fail, naming
    the same field) identically with and without it, whatever fast path the parser has."""
    text = _sealed(signed=signed).to_json()
    for position, replacement in edits:
        position %= len(text)
        text = text[:position] + replacement + text[position + 1:]
    assert _outcome(text) == _outcome(" " + text) == _outcome("\n" + text + " ")
