"""encoding: strict base64url, ids, length-prefixed fields and strict JSON."""

from __future__ import annotations

import base64

import pytest
from core_helpers import ID_CHARS, ids
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee.encoding import (
    MAX_ID, Reader, Writer, b64decode, b64encode, check_content_type, check_epoch, check_fields, check_id, dumps,
    loads_object,
)
from domvia_e2ee.errors import FormatError

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _fails(field: str, func, *args, **kwargs) -> FormatError:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as info:
        func(*args, **kwargs)
    assert info.value.field == field, info.value
    return info.value


@given(st.binary(max_size=200))
def test_b64_round_trip_is_unpadded_url_safe(data: bytes) -> None:
    text = b64encode(data)
    assert "=" not in text and set(text) <= set(B64URL)
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64decode(text, "f") == data


@given(st.binary(min_size=1, max_size=64), st.data())
def test_b64_non_zero_trailing_bits_are_refused(data: bytes, draw: st.DataObject) -> None:
    text = b64encode(data)
    unused = {0: 0, 2: 0b1111, 3: 0b11}[len(text) % 4]
    if not unused:
        return
    bits = draw.draw(st.integers(1, unused))
    mutated = text[:-1] + B64URL[B64URL.index(text[-1]) | bits]
    _fails("f", b64decode, mutated, "f")


@pytest.mark.parametrize("text", ["AA==", "AA=", "AAA=", "=", "A", "AAAAA", "AA AA", "AA\nAA", "+/8", "AA/A", "A$A",
                                  "ÀAAA", "\x00AAA"])
def test_b64_non_canonical_forms_are_refused(text: str) -> None:
    _fails("field", b64decode, text, "field")


@pytest.mark.parametrize("value", [None, 1, b"AAAA", ["AAAA"]])
def test_b64_non_strings_are_refused(value: object) -> None:
    _fails("field", b64decode, value, "field")


def test_b64_size() -> None:
    assert b64decode(b64encode(bytes(32)), "k", size=32) == bytes(32)
    error = _fails("k", b64decode, b64encode(bytes(31)), "k", size=32)
    assert "32" in error.reason and "31" in error.reason
    assert b64decode("", "k") == b""


@given(ids)
def test_valid_ids(value: str) -> None:
    assert check_id(value, "id") == value


@pytest.mark.parametrize("value", ["", "a" * (MAX_ID + 1), "a b", "a\tb", "é", "a\x00", "日本", "a,b", "a;b", "a\\b",
                                   None, 5, b"abc"])
def test_invalid_ids(value: object) -> None:
    _fails("id", check_id, value, "id")


def test_id_alphabet() -> None:
    assert set(ID_CHARS) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/+=-")
    for code in range(256):
        char = chr(code)
        if char in ID_CHARS:
            assert check_id(char, "id") == char
        else:
            _fails("id", check_id, char, "id")


def test_content_types_and_epochs() -> None:
    assert check_content_type("application/vnd.domvia+json;v=1") == "application/vnd.domvia+json;v=1"
    for bad in ("", " ", "a" * 128, "é", "a b", None):
        _fails("content_type", check_content_type, bad)
    assert check_epoch(1) == 1 and check_epoch(2**32 - 1) == 2**32 - 1
    for bad in (0, 2**32, -1, True, 1.0, "1", None):
        _fails("epoch", check_epoch, bad)


def test_writer_and_reader() -> None:
    data = Writer(b"M").u8(7).u32(2**32 - 1).u64(2**64 - 1).str8("room").bytes16(b"xyz").raw(b"!").getvalue()
    assert data == b"M\x07\xff\xff\xff\xff" + b"\xff" * 8 + b"\x04room\x00\x03xyz!"
    r = Reader(data, 1)
    assert (r.u8("a"), r.u32("b"), r.u64("c"), r.str8("d"), r.bytes16("e"), r.raw(1, "f")) == (
        7, 2**32 - 1, 2**64 - 1, "room", b"xyz", b"!")
    r.end()
    for cut in range(1, len(data)):
        r = Reader(data[:cut], 1)
        with pytest.raises(FormatError):
            r.u8("a"), r.u32("b"), r.u64("c"), r.str8("d"), r.bytes16("e"), r.raw(1, "f")
    _fails("trailing data", Reader(b"xy").end)
    _fails("name", Reader(b"\x02\xe9a").str8, "name")
    _fails("field", Reader(b"\x00\x05abc").bytes16, "field")
    _fails("field", Reader(b"abc").raw, -1, "field")


def test_strict_json() -> None:
    assert loads_object(b'{"a":1}', "doc") == {"a": 1}
    assert loads_object('{"a":1}', "doc") == {"a": 1}
    _fails("a", loads_object, '{"a":1,"a":2}', "doc")
    _fails("b", loads_object, '{"x":{"b":1,"b":1}}', "doc")
    for text in ("[]", "1", "null", '"x"', "", "{", "{'a':1}", b"\xff{}", "[" * 50000):
        _fails("doc", loads_object, text, "doc")
    for constant in ("NaN", "Infinity", "-Infinity"):
        _fails("json", loads_object, '{"a":' + constant + "}", "doc")
    _fails("doc", loads_object, '{"a":"' + "x" * 100 + '"}', "doc", max_bytes=50)
    _fails("doc", loads_object, "9" * 5000, "doc")


def test_check_fields_names_unknown_then_missing() -> None:
    check_fields({"a": 1, "b": 2}, ("a",), ("b",))
    _fails("c", check_fields, {"a": 1, "c": 3}, ("a", "b"))
    _fails("b", check_fields, {"a": 1}, ("a", "b"))


def test_dumps_is_canonical() -> None:
    assert dumps({"b": 1, "a": [1, "é"]}) == b'{"a":[1,"\\u00e9"],"b":1}'
