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
"""The bytes an id (room, participant, message) may contain."""
MAX_ID = 128
"""The longest id, in bytes."""
CONTENT_TYPE_PATTERN = re.compile(r"[\x21-\x7e]{1,127}")
"""A content type: 1 to 127 printable ASCII characters, no space."""
MAX_JSON_BYTES = 1 << 20
"""The largest JSON document `loads_object` parses by default (1 MiB)."""
MAX_EPOCH = 0xFFFFFFFF
"""The largest epoch number (epochs are u32, starting at 1)."""


def b64encode(data: bytes) -> str:
    """base64url without padding, the only form `b64decode` accepts. Raises nothing."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: object, field: str, *, size: int | None = None) -> bytes:
    """Strict base64url without padding; rejects anything that does not re-encode identically.

    Raises `FormatError` (E_FORMAT) naming `field` for a non-string, padding, a non-canonical
    encoding or (with `size`) the wrong decoded length.
    """
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
    """Whether `raw` is a valid id: 1 to `MAX_ID` bytes of `ID_ALPHABET`. Raises nothing."""
    # translate() deleting the alphabet leaves nothing exactly when every byte is allowed.
    return 0 < len(raw) <= MAX_ID and not raw.translate(None, ID_ALPHABET)


def check_id(value: object, field: str) -> str:
    """`value` if it is a valid id, else `FormatError` (E_FORMAT) naming `field`.

    Ids are short ASCII so every language compares them byte for byte, with no normalisation.
    """
    if not isinstance(value, str) or not value.isascii() or not is_id_bytes(value.encode("ascii")):
        raise FormatError(field, "must be 1-128 characters of [A-Za-z0-9._:@/+=-]")
    return value


def check_content_type(value: object, field: str = "content_type") -> str:
    """`value` if it matches `CONTENT_TYPE_PATTERN`, else `FormatError` (E_FORMAT) naming `field`."""
    if not isinstance(value, str) or not CONTENT_TYPE_PATTERN.fullmatch(value):
        raise FormatError(field, "must be 1-127 printable ASCII characters")
    return value


def check_epoch(value: object, field: str = "epoch") -> int:
    """`value` if it is an int from 1 to `MAX_EPOCH` (not a bool), else `FormatError` (E_FORMAT)."""
    if type(value) is not int or not 1 <= value <= MAX_EPOCH:
        raise FormatError(field, "must be an integer from 1 to 2^32-1")
    return value


class Writer:
    """Builds a canonical byte string field by field; every method returns the writer, for chaining.

    A value out of range for its field raises `struct.error`, a string that is not ASCII
    `UnicodeEncodeError` (a programming error: callers check the value first, so no DomviaError).
    """

    __slots__ = ("_parts",)

    def __init__(self, initial: bytes = b"") -> None:
        self._parts = [initial]

    def raw(self, data: bytes) -> Writer:
        """Appends `data` as is."""
        self._parts.append(data)
        return self

    def u8(self, value: int) -> Writer:
        """Appends one byte."""
        self._parts.append(struct.pack(">B", value))
        return self

    def u32(self, value: int) -> Writer:
        """Appends a big-endian unsigned 32-bit integer."""
        self._parts.append(struct.pack(">I", value))
        return self

    def u64(self, value: int) -> Writer:
        """Appends a big-endian unsigned 64-bit integer."""
        self._parts.append(struct.pack(">Q", value))
        return self

    def str8(self, value: str) -> Writer:
        """Appends an ASCII string prefixed by its length in one byte (at most 255)."""
        data = value.encode("ascii")
        self._parts.append(struct.pack(">B", len(data)) + data)
        return self

    def bytes16(self, data: bytes) -> Writer:
        """Appends bytes prefixed by their length as a big-endian u16 (at most 65535)."""
        self._parts.append(struct.pack(">H", len(data)) + data)
        return self

    def getvalue(self) -> bytes:
        """Everything appended so far, concatenated."""
        return b"".join(self._parts)


class Reader:
    """Reads a canonical byte string; every short read names the field it was reading.

    Every read method raises `FormatError` (E_FORMAT) naming its `field` when the data ends before
    the value does ("truncated"); nothing is returned partially.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = data
        self._pos = pos

    @property
    def pos(self) -> int:
        """The offset of the next byte to read."""
        return self._pos

    def remaining(self) -> int:
        """Bytes left to read. Raises nothing."""
        return len(self._data) - self._pos

    def raw(self, size: int, field: str) -> bytes:
        """The next `size` bytes. Raises `FormatError` (E_FORMAT) if fewer remain or `size` is negative."""
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise FormatError(field, "truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self, field: str) -> int:
        """One byte. Raises `FormatError` (E_FORMAT) when truncated."""
        return self.raw(1, field)[0]

    def u32(self, field: str) -> int:
        """A big-endian unsigned 32-bit integer. Raises `FormatError` (E_FORMAT) when truncated."""
        return int(struct.unpack(">I", self.raw(4, field))[0])

    def u64(self, field: str) -> int:
        """A big-endian unsigned 64-bit integer. Raises `FormatError` (E_FORMAT) when truncated."""
        return int(struct.unpack(">Q", self.raw(8, field))[0])

    def str8(self, field: str) -> str:
        """A string with a one-byte length. Raises `FormatError` (E_FORMAT) when truncated or not ASCII."""
        data = self.raw(self.u8(field), field)
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(field, "must be ASCII") from None

    def bytes16(self, field: str) -> bytes:
        """Bytes with a big-endian u16 length. Raises `FormatError` (E_FORMAT) when truncated."""
        return self.raw(int(struct.unpack(">H", self.raw(2, field))[0]), field)

    def slice_from(self, start: int) -> bytes:
        """The bytes read since position start."""
        return self._data[start : self._pos]

    def rest(self) -> bytes:
        """Everything not read yet (possibly nothing). Raises nothing."""
        return self.raw(self.remaining(), "rest")

    def end(self, field: str = "trailing data") -> None:
        """Checks that everything was read. Raises `FormatError` (E_FORMAT) naming `field` otherwise."""
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


def _integer(text: str) -> int:
    if text == "-0":
        raise FormatError("json", "-0 is not an integer of this format")
    return int(text)


MAX_JSON_DEPTH = 32


def loads_object(data: bytes | str, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """Strict JSON (spec/encoding.md#json): one object, no duplicate keys, no NaN/Infinity, no -0,
    no byte order mark, no lone surrogate, bounded size (in UTF-8 bytes) and nesting.

    Raises `FormatError` (E_FORMAT) naming `what` when the input is too large, is not UTF-8 JSON or not an
    object, breaks one of those rules, or naming the key for a duplicate key or a non-standard constant.
    """
    size = len(data) if isinstance(data, bytes) or data.isascii() else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise FormatError(what, f"larger than {max_bytes} bytes")
    try:
        # A byte order mark is kept by decode("utf-8") and refused by json.loads.
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        # The integer hook costs a third of the parse: only a text containing "-0" can need it.
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant,
                           parse_int=_integer if "-0" in text else None)
    except FormatError:
        raise
    except (ValueError, RecursionError):
        raise FormatError(what, "not valid JSON") from None
    if not isinstance(value, dict):
        raise FormatError(what, "must be a JSON object")
    # Only an escape (or a str handed in already decoded) can make a lone surrogate; depth needs brackets.
    if "\\u" in text or not text.isascii() or text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_tree(value, what, 0)
    return value


def _check_tree(value: Any, what: str, depth: int) -> None:
    """No lone surrogate in any string or member name, and at most MAX_JSON_DEPTH nested arrays and objects."""
    if depth > MAX_JSON_DEPTH:
        raise FormatError(what, f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise FormatError(what, "a lone UTF-16 surrogate") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, what, depth)
            _check_tree(item, what, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, what, depth + 1)


def check_fields(obj: dict[str, Any], required: Iterable[str], optional: Iterable[str] = ()) -> None:
    """Checks that `obj` has every `required` key and no key outside `required` and `optional`.

    Raises `FormatError` (E_FORMAT) naming the first unknown or missing field.
    """
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in obj:
        if key not in allowed:
            raise FormatError(key, "unknown field")
    for key in required:
        if key not in obj:
            raise FormatError(key, "missing field")


def get_int(obj: dict[str, Any], key: str) -> int:
    """`obj[key]` if it is an int (not a bool), else `FormatError` (E_FORMAT) naming `key`.

    The key must be present (`check_fields` first): a missing one raises `KeyError`.
    """
    value = obj[key]
    if type(value) is not int:
        raise FormatError(key, "must be an integer")
    return value


def get_str(obj: dict[str, Any], key: str) -> str:
    """`obj[key]` if it is a string, else `FormatError` (E_FORMAT) naming `key`.

    The key must be present (`check_fields` first): a missing one raises `KeyError`.
    """
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
        """Deprecated: the text itself (to_json() used to return bytes). Raises nothing; warns."""
        warnings.warn("to_json() returns str now; drop the .decode()", DeprecationWarning, stacklevel=2)
        return str(self)


def dumps(obj: dict[str, Any]) -> bytes:
    """Compact, key-sorted, ASCII JSON: one byte string per value. Raises nothing for JSON-able values."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode("ascii")
