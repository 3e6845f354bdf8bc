"""Canonical encodings, parsed strictly: base64url, length-prefixed fields, ids, JSON.

Every reader here raises FormatError naming the field; nothing returns a partial value.
"""

from __future__ import annotations

import base64
import binascii
import json
import warnings
import re
import struct
from collections.abc import Iterable
from typing import Any

from .errors import FormatError

ID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/+=-"
MAX_ID = 128
CONTENT_TYPE_PATTERN = re.compile(r"[\x21-\x7e]{1,127}")
MAX_JSON_BYTES = 1 << 20
MAX_EPOCH = 0xFFFFFFFF


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: object, field: str, *, size: int | None = None) -> bytes:
    """Strict base64url without padding; rejects anything that does not re-encode identically."""
    if not isinstance(text, str) or not text.isascii():
        raise FormatError(field, "must be a base64url string")
    if len(text) % 4 == 1 or "=" in text:
        raise FormatError(field, "not canonical base64url without padding")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise FormatError(field, "not base64url") from None
    if b64encode(raw) != text:
        raise FormatError(field, "not canonical base64url without padding")
    if size is not None and len(raw) != size:
        raise FormatError(field, f"must be {size} bytes, got {len(raw)}")
    return raw


def is_id_bytes(raw: bytes) -> bool:
    # translate() deleting the alphabet leaves nothing exactly when every byte is allowed.
    return 0 < len(raw) <= MAX_ID and not raw.translate(None, ID_ALPHABET)


def check_id(value: object, field: str) -> str:
    """Ids are short ASCII so every language compares them byte for byte, with no normalisation."""
    if not isinstance(value, str) or not value.isascii() or not is_id_bytes(value.encode("ascii")):
        raise FormatError(field, "must be 1-128 characters of [A-Za-z0-9._:@/+=-]")
    return value


def check_content_type(value: object, field: str = "content_type") -> str:
    if not isinstance(value, str) or not CONTENT_TYPE_PATTERN.fullmatch(value):
        raise FormatError(field, "must be 1-127 printable ASCII characters")
    return value


def check_epoch(value: object, field: str = "epoch") -> int:
    if type(value) is not int or not 1 <= value <= MAX_EPOCH:
        raise FormatError(field, "must be an integer from 1 to 2^32-1")
    return value


class Writer:
    """Builds a canonical byte string field by field."""

    __slots__ = ("_parts",)

    def __init__(self, initial: bytes = b"") -> None:
        self._parts = [initial]

    def raw(self, data: bytes) -> Writer:
        self._parts.append(data)
        return self

    def u8(self, value: int) -> Writer:
        self._parts.append(struct.pack(">B", value))
        return self

    def u32(self, value: int) -> Writer:
        self._parts.append(struct.pack(">I", value))
        return self

    def u64(self, value: int) -> Writer:
        self._parts.append(struct.pack(">Q", value))
        return self

    def str8(self, value: str) -> Writer:
        data = value.encode("ascii")
        self._parts.append(struct.pack(">B", len(data)) + data)
        return self

    def bytes16(self, data: bytes) -> Writer:
        self._parts.append(struct.pack(">H", len(data)) + data)
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads a canonical byte string; every short read names the field it was reading."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = data
        self._pos = pos

    @property
    def pos(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def raw(self, size: int, field: str) -> bytes:
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise FormatError(field, "truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self, field: str) -> int:
        return self.raw(1, field)[0]

    def u32(self, field: str) -> int:
        return int(struct.unpack(">I", self.raw(4, field))[0])

    def u64(self, field: str) -> int:
        return int(struct.unpack(">Q", self.raw(8, field))[0])

    def str8(self, field: str) -> str:
        data = self.raw(self.u8(field), field)
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(field, "must be ASCII") from None

    def bytes16(self, field: str) -> bytes:
        return self.raw(int(struct.unpack(">H", self.raw(2, field))[0]), field)

    def rest(self) -> bytes:
        return self.raw(self.remaining(), "rest")

    def end(self, field: str = "trailing data") -> None:
        if self._pos != len(self._data):
            raise FormatError(field, "unexpected bytes after the end")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise FormatError(key, "duplicate field")
        seen[key] = value
    return seen


def _reject_constant(name: str) -> Any:
    raise FormatError("json", f"non-standard constant {name}")


def loads_object(data: bytes | str, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """Strict JSON: one object, no duplicate keys, no NaN/Infinity, bounded size."""
    if len(data) > max_bytes:
        raise FormatError(what, f"larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except FormatError:
        raise
    except (ValueError, RecursionError):
        raise FormatError(what, "not valid JSON") from None
    if not isinstance(value, dict):
        raise FormatError(what, "must be a JSON object")
    return value


def check_fields(obj: dict[str, Any], required: Iterable[str], optional: Iterable[str] = ()) -> None:
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in obj:
        if key not in allowed:
            raise FormatError(key, "unknown field")
    for key in required:
        if key not in obj:
            raise FormatError(key, "missing field")


def get_int(obj: dict[str, Any], key: str) -> int:
    value = obj[key]
    if type(value) is not int:
        raise FormatError(key, "must be an integer")
    return value


def get_str(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise FormatError(key, "must be a string")
    return value


class JsonText(str):
    """The text that to_json() returns: a str (write it to a text file, send it as a text frame).

    `.encode()` gives the bytes. `.decode()` is kept for callers written when to_json() returned
    bytes; it is deprecated and returns the text itself.
    """

    __slots__ = ()

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        warnings.warn("to_json() returns str now; drop the .decode()", DeprecationWarning, stacklevel=2)
        return str(self)


def dumps(obj: dict[str, Any]) -> bytes:
    """Compact, key-sorted JSON: one byte string per value."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode("ascii")
