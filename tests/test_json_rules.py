"""The JSON rules of spec/encoding.md that JSON.parse cannot meet, and the content limit on opening."""

from __future__ import annotations

import pytest

from domvia_e2ee.encoding import MAX_JSON_DEPTH, loads_object
from domvia_e2ee.errors import AuthenticationError, FormatError
from domvia_e2ee.padding import MAX_CONTENT, pad, padded_size, unpad


@pytest.mark.parametrize("text", [
    '{"a":-0}', '{"a":[1,-0]}', '\ufeff{"a":1}', '{"a":"\\ud800"}', '{"a":"\\udc00"}', '{"a":"\\ud800\\u0041"}',
    '{"\\ud800":1}', '{"a":["x\\udfff"]}', '{"a":"\ud800"}',
])
def test_refused(text: str) -> None:
    with pytest.raises(FormatError):
        loads_object(text, "x")


def test_a_byte_order_mark_is_refused_in_bytes_too() -> None:
    with pytest.raises(FormatError):
        loads_object(b'\xef\xbb\xbf{"a":1}', "x")


@pytest.mark.parametrize("text", ['{"a":0}', '{"a":-1}', '{"a":"\\ud83d\\ude00"}', '{"a":"\U0001f600"}', '{"a":-0.0}'])
def test_accepted(text: str) -> None:
    assert set(loads_object(text, "x")) == {"a"}


def test_nesting_limit() -> None:
    def nested(depth: int) -> str:  # the innermost value sits inside `depth` arrays and objects
        return '{"a":' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"

    assert loads_object(nested(MAX_JSON_DEPTH), "x")
    for depth in (MAX_JSON_DEPTH + 1, 45000):
        with pytest.raises(FormatError):
            loads_object(nested(depth), "x", max_bytes=1 << 20)


def test_the_size_limit_counts_utf8_bytes_of_a_str() -> None:
    text = '{"a":"' + "\u00e9" * 10 + '"}'  # 18 characters, 28 bytes
    assert loads_object(text, "x", max_bytes=28)
    with pytest.raises(FormatError):
        loads_object(text, "x", max_bytes=27)


def test_unpad_content_limit() -> None:
    assert padded_size(MAX_CONTENT) == padded_size(67583 - 1) == 67584
    assert unpad(pad(b"x" * MAX_CONTENT)) == b"x" * MAX_CONTENT
    for n in (MAX_CONTENT + 1, 66000, 67583):
        with pytest.raises(FormatError) as caught:
            unpad(b"x" * n + b"\x80" + bytes(67584 - n - 1))
        assert caught.value.field == "content"
    with pytest.raises(AuthenticationError):  # a padding failure stays E_AUTH
        unpad(b"x" * 66000 + b"\x80" + bytes(67584 - 66001) + b"\x00")
