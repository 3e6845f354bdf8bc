"""Sealed chat messages: header, associated data, padding, signature, binary and JSON forms.

Binary form (spec/message.md):
    "DVM" 0x01 | suite u8 | flags u8 | room str8 | epoch u32 | key_id[32] | sender str8
    | content_type str8 | message_id str8 | nonce | ciphertext+tag | [signature 64]
The header is everything before the nonce; the AEAD's associated data is AAD_MESSAGE || header,
so every id, the epoch, the suite, the flags and the key commitment are authenticated.

Public constants: FLAG_SIGNED and FLAG_PADDED (the flag bits); MAX_PLAINTEXT (65,536 bytes, the
largest plaintext: send more as an attachment); PADDED_LIMIT (the largest padded body);
MAX_MESSAGE_BYTES and MAX_MESSAGE_JSON (the largest binary and JSON message a parser accepts);
DEFAULT_CONTENT_TYPE ("text/plain"); JSON_FIELDS (the JSON members every message has; "g", the
signature, is added when signed).

Error codes: parsing raises FormatError (E_FORMAT) naming the field ("r", "room_id", ...);
require_unsigned raises PolicyError (E_POLICY). Nothing here verifies or decrypts: see sealing.
"""

from __future__ import annotations

import binascii
import re
import struct
from typing import Any, Final, NamedTuple

from . import labels
from .encoding import (
    ID_ALPHABET, MAX_EPOCH, MAX_ID, JsonText, b64decode, b64encode, check_content_type, check_epoch, check_fields, check_id, dumps,
    get_int, get_str, loads_object,
)
from .errors import FormatError, PolicyError
from .hazmat import curves
from .hazmat.suites import TAG_SIZE, Suite
from .padding import MIN_PADDED, padded_size

FLAG_SIGNED: Final = 0x01
FLAG_PADDED: Final = 0x02
MAX_PLAINTEXT: Final = 65536
PADDED_LIMIT: Final = padded_size(MAX_PLAINTEXT)
MAX_MESSAGE_BYTES: Final = 69632
MAX_MESSAGE_JSON: Final = 98304
DEFAULT_CONTENT_TYPE: Final = "text/plain"
JSON_FIELDS: Final = ("v", "s", "r", "e", "k", "u", "t", "m", "p", "n", "c")


class SealedMessage(NamedTuple):
    """A sealed message as it travels. Build it with seal(); parse it with from_bytes/from_json.

    Parsing checks the structure only (E_FORMAT): the fields are the sender's claims until open()
    has authenticated them. `wire` is the binary form; to_json() the canonical JSON text.

    A named tuple rather than a dataclass: it is built once per message on the hot path,
    and a dataclass's __init__ costs about as much as the AEAD call it wraps.
    """

    suite: Suite
    flags: int
    room_id: str
    epoch: int
    key_id: bytes
    sender_id: str
    content_type: str
    message_id: str
    nonce: bytes
    ciphertext: bytes
    signature: bytes | None
    wire: bytes
    header_size: int

    def __repr__(self) -> str:
        return (f"SealedMessage(room_id={self.room_id!r}, epoch={self.epoch}, sender_id={self.sender_id!r}, "
                f"message_id={self.message_id!r}, {len(self.wire)} bytes)")

    @property
    def signed(self) -> bool:
        """The message carries a signature (not bot mode). Claimed until open() verifies it."""
        return bool(self.flags & FLAG_SIGNED)

    @property
    def padded(self) -> bool:
        """The plaintext was padded before encryption (its length is hidden to a bucket)."""
        return bool(self.flags & FLAG_PADDED)

    @property
    def header(self) -> bytes:
        """The binary header (everything before the nonce): the AEAD's associated data after its label."""
        return self.wire[: self.header_size]

    @property
    def signed_part(self) -> bytes:
        """The bytes the signature covers (after its label): the whole wire but the signature."""
        return self.wire[:-curves.SIGNATURE_SIZE] if self.signature is not None else self.wire

    def to_bytes(self) -> bytes:
        """The binary form (spec/message.md), the smaller of the two."""
        return self.wire

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: v, s (suite), r (room id), e (epoch), k (key id), u (sender id),
        t (content type), m (message id), p (padded), n (nonce), c (ciphertext), g (signature)."""
        out: dict[str, Any] = {
            "v": labels.FORMAT_VERSION, "s": self.suite.label, "r": self.room_id, "e": self.epoch,
            "k": b64encode(self.key_id), "u": self.sender_id, "t": self.content_type, "m": self.message_id,
            "p": 1 if self.padded else 0, "n": b64encode(self.nonce), "c": b64encode(self.ciphertext)}
        if self.signature is not None:
            out["g"] = b64encode(self.signature)
        return out

    def to_json(self) -> JsonText:
        """The canonical JSON form (sorted members, no whitespace), as text (a str; ASCII only)."""
        canonical = _json_direct(self)
        return JsonText((canonical if canonical is not None else dumps(self.to_dict())).decode("ascii"))

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedMessage:
        """Parses the binary form; FormatError (E_FORMAT) names what is malformed."""
        return parse_binary(bytes(data))

    @classmethod
    def from_json(cls, data: bytes | str) -> SealedMessage:
        """Parses the JSON form (strict JSON: no duplicate member, canonical base64url); E_FORMAT."""
        return parse_json(data)

    @classmethod
    def parse(cls, data: bytes | str | SealedMessage) -> SealedMessage:
        """Accepts either wire form: binary starts with the magic, JSON with '{'."""
        if isinstance(data, SealedMessage):
            # Trust the fields only as the parse of the wire that is authenticated: a _replace()d
            # or hand-built tuple would otherwise report a message id or content type never checked.
            return parse_binary(data.wire)
        if isinstance(data, str) or data[:1] == b"{":
            return parse_json(data)
        return parse_binary(bytes(data))


def header_prefix(suite: Suite, flags: int, room_id: str, epoch: int, key_id: bytes,
                  sender_id: str, content_type: str) -> bytes:
    """The header up to the message id: constant for one sender in one epoch, so it is cached."""
    room, sender, ctype = room_id.encode(), sender_id.encode(), content_type.encode()
    return b"".join((labels.MAGIC_MESSAGE, bytes((suite, flags, len(room))), room,
                     struct.pack(">I", epoch), key_id, bytes((len(sender),)), sender,
                     bytes((len(ctype),)), ctype))


def _str8(data: bytes, pos: int, field: str) -> tuple[str, int]:
    if pos >= len(data):
        raise FormatError(field, "truncated")
    end = pos + 1 + data[pos]
    if end > len(data):
        raise FormatError(field, "truncated")
    try:
        return data[pos + 1 : end].decode("ascii"), end
    except UnicodeDecodeError:
        raise FormatError(field, "must be ASCII") from None


# Messages are built with tuple.__new__, skipping NamedTuple's generated __new__: measurably
# faster per message. Validated header prefixes (all fields but the message id). Parsing is a pure function of
# the bytes, so caching it is safe; the bound keeps hostile input from growing it.
# A cached entry also holds the sizes the rest of the message is checked against:
# (suite, flags, room, epoch, key id, sender, content type, nonce, signature, max body, min body).
_Prefix = tuple[Suite, int, str, int, bytes, str, str, int, int, int, int]
_PREFIXES: dict[bytes, _Prefix] = {}
_PREFIX_CACHE_SIZE: Final = 1024
_SUITES: Final = {int(s): s for s in Suite}


def _parse_prefix(data: bytes) -> tuple[_Prefix, int]:
    try:
        pos = 7 + data[6]
        pos += 37 + data[pos + 36]
        pos += 1 + data[pos]
    except IndexError:
        pos = len(data) + 1
    if pos <= len(data):
        fields = _PREFIXES.get(data[:pos])
        if fields is not None:
            return fields, pos
    fields, pos = _parse_prefix_slow(data)
    if len(_PREFIXES) >= _PREFIX_CACHE_SIZE:
        _PREFIXES.clear()
    _PREFIXES[data[:pos]] = fields
    return fields, pos


def _parse_prefix_slow(data: bytes) -> tuple[_Prefix, int]:
    if data[:4] != labels.MAGIC_MESSAGE:
        raise FormatError("magic", "not a version 1 sealed message")
    if len(data) < 6:
        raise FormatError("suite", "truncated")
    suite = Suite.from_wire(data[4])
    flags = data[5]
    if flags & ~(FLAG_SIGNED | FLAG_PADDED):
        raise FormatError("flags", "unknown flag bits")
    room_id, pos = _str8(data, 6, "room_id")
    check_id(room_id, "room_id")
    if pos + 36 > len(data):
        raise FormatError("epoch" if pos + 4 > len(data) else "key_id", "truncated")
    (epoch,) = struct.unpack_from(">I", data, pos)
    check_epoch(epoch)
    key_id = data[pos + 4 : pos + 36]
    sender_id, pos = _str8(data, pos + 36, "sender_id")
    check_id(sender_id, "sender_id")
    content_type, pos = _str8(data, pos, "content_type")
    check_content_type(content_type)
    padded = bool(flags & FLAG_PADDED)
    sizes = (suite.nonce_size, curves.SIGNATURE_SIZE if flags & FLAG_SIGNED else 0,
             PADDED_LIMIT if padded else MAX_PLAINTEXT, MIN_PADDED if padded else 0)
    return (suite, flags, room_id, epoch, key_id, sender_id, content_type, *sizes), pos


def parse_binary(data: bytes) -> SealedMessage:
    """SealedMessage.from_bytes for bytes: FormatError (E_FORMAT) naming the binary field."""
    size = len(data)
    if size > MAX_MESSAGE_BYTES:
        raise FormatError("message", f"larger than {MAX_MESSAGE_BYTES} bytes")
    # The magic is checked by _parse_prefix: a cached prefix starts with it, the slow path checks it first.
    prefix, pos = _parse_prefix(data)
    suite, flags, room_id, epoch, key_id, sender_id, content_type, nonce_size, sig_size, max_body, min_body = prefix
    if pos >= size:
        raise FormatError("message_id", "truncated")
    header_size = pos + 1 + data[pos]
    raw_id = data[pos + 1 : header_size]
    if header_size > size or not 0 < header_size - pos - 1 <= MAX_ID or raw_id.translate(None, ID_ALPHABET):
        raise FormatError("message_id", "truncated" if header_size > size else "not a valid id")
    nonce_end = header_size + nonce_size
    ct_end = size - sig_size
    body = ct_end - nonce_end - TAG_SIZE
    if body < 0:
        raise FormatError("nonce" if nonce_end > size else "ciphertext", "truncated")
    if body > max_body:
        raise FormatError("ciphertext", "longer than the maximum message size")
    if body < min_body:
        raise FormatError("ciphertext", "shorter than the smallest padded size")
    return tuple.__new__(SealedMessage, (suite, flags, room_id, epoch, key_id, sender_id, content_type,
                                         raw_id.decode("ascii"), data[header_size:nonce_end], data[nonce_end:ct_end],
                                         data[ct_end:] if sig_size else None, data, header_size))


def parse_json(data: bytes | str) -> SealedMessage:
    """SealedMessage.from_json: FormatError (E_FORMAT) naming the JSON member ("r", "c", ...)."""
    message = _parse_json_direct(data)
    return message if message is not None else _parse_json_strict(data)


def _parse_json_strict(data: bytes | str) -> SealedMessage:
    obj = loads_object(data, "message", max_bytes=MAX_MESSAGE_JSON)
    check_fields(obj, JSON_FIELDS, ("g",))
    if get_int(obj, "v") != labels.FORMAT_VERSION:
        raise FormatError("v", "unsupported version")
    suite = Suite.from_label(obj["s"], "s")
    padded = get_int(obj, "p")
    if padded not in (0, 1):
        raise FormatError("p", "must be 0 or 1")
    flags = (FLAG_PADDED if padded else 0) | (FLAG_SIGNED if "g" in obj else 0)
    room_id = check_id(obj["r"], "r")
    epoch = check_epoch(obj["e"], "e")
    key_id = b64decode(obj["k"], "k", size=32)
    sender_id = check_id(obj["u"], "u")
    content_type = check_content_type(get_str(obj, "t"), "t")
    message_id = check_id(obj["m"], "m")
    nonce = b64decode(obj["n"], "n", size=suite.nonce_size)
    ciphertext = b64decode(obj["c"], "c")
    signature = b64decode(obj["g"], "g", size=curves.SIGNATURE_SIZE) if "g" in obj else None
    if len(ciphertext) < TAG_SIZE:
        raise FormatError("c", "shorter than the tag")
    header = header_prefix(suite, flags, room_id, epoch, key_id, sender_id, content_type)
    header += bytes((len(message_id),)) + message_id.encode()
    try:
        return parse_binary(header + nonce + ciphertext + (signature or b""))
    except FormatError as error:
        raise FormatError(_JSON_NAMES.get(error.field, error.field), error.reason) from None


_JSON_NAMES: Final = {"message": "c", "ciphertext": "c"}

# The JSON form as to_json writes it: sorted keys, no whitespace, no escapes. It is read and
# written here without building a dict, which is most of what JSON cost per message
# (dumps/loads with the duplicate-key hook). Input of any other shape, and any value the
# strict parser would reject, goes to the strict parser: it alone reports errors.
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")
_ID_CHARS: Final = b"[" + re.escape(ID_ALPHABET) + b"]{1,128}"
_B64_CHARS: Final = b"[A-Za-z0-9_-]"
_CONTENT_TYPE_CHARS: Final = rb'[\x21\x23-\x5b\x5d-\x7e]{1,127}'  # printable ASCII but " and \
_CANONICAL_JSON: Final = re.compile(
    b'\\{"c":"(' + _B64_CHARS + b'+)","e":([1-9][0-9]{0,9}),(?:"g":"(' + _B64_CHARS + b'{86})",)?"k":"('
    + _B64_CHARS + b'{43})","m":"(' + _ID_CHARS + b')","n":"(' + _B64_CHARS + b'{16}|' + _B64_CHARS
    + b'{32})","p":([01]),"r":"(' + _ID_CHARS + b')","s":"(A256GCM|XC20P)","t":"(' + _CONTENT_TYPE_CHARS + b')",'
    b'"u":"(' + _ID_CHARS + b')","v":1\\}')
_SUITE_LABELS: Final = {suite.label.encode(): suite for suite in Suite}


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE)


def _b64_canonical(text: bytes) -> bytes | None:
    """Decodes base64url (alphabet already checked); None unless it re-encodes to the same text."""
    try:
        raw = binascii.a2b_base64(text.translate(_FROM_URLSAFE) + b"=" * (-len(text) % 4))
    except binascii.Error:
        return None
    return raw if _b64(raw) == text else None


def _json_direct(m: SealedMessage) -> bytes | None:
    """dumps(m.to_dict()), byte for byte, when every string needs no JSON escape; else None."""
    suite, flags, room_id, epoch, key_id, sender_id, content_type, message_id, nonce, ciphertext, signature, _, _ = m
    if not (type(room_id) is type(sender_id) is type(content_type) is type(message_id) is str
            and type(epoch) is type(flags) is int and type(suite) is Suite
            and type(key_id) is type(nonce) is type(ciphertext) is bytes
            and (signature is None or type(signature) is bytes)):
        return None
    text = room_id + sender_id + content_type + message_id
    if not (text.isascii() and text.isprintable()) or '"' in text or "\\" in text:
        return None
    sig = b"" if signature is None else b'"g":"' + _b64(signature) + b'",'
    return (b'{"c":"%s","e":%d,%s"k":"%s","m":"%s","n":"%s","p":%d,"r":"%s","s":"%s","t":"%s","u":"%s","v":%d}'
            % (_b64(ciphertext), epoch, sig, _b64(key_id), message_id.encode(), _b64(nonce),
               1 if flags & FLAG_PADDED else 0, room_id.encode(), suite.label.encode(), content_type.encode(),
               sender_id.encode(), labels.FORMAT_VERSION))


# Header prefixes by the JSON fields they come from, bounded like _PREFIXES.
_JSON_HEADERS: dict[tuple[bytes, bytes, bool, bytes, bytes, bytes, bytes, bytes], bytes] = {}


def _json_header(fields: tuple[bytes, bytes, bool, bytes, bytes, bytes, bytes, bytes]) -> bytes | None:
    s, p, unsigned, r, e, k, u, t = fields
    epoch, key_id = int(e), _b64_canonical(k)
    if epoch > MAX_EPOCH or key_id is None or len(key_id) != 32:
        return None
    flags = (FLAG_PADDED if p == b"1" else 0) | (0 if unsigned else FLAG_SIGNED)
    header = header_prefix(_SUITE_LABELS[s], flags, r.decode(), epoch, key_id, u.decode(), t.decode())
    if len(_JSON_HEADERS) >= _PREFIX_CACHE_SIZE:
        _JSON_HEADERS.clear()
    _JSON_HEADERS[fields] = header
    return header


def _parse_json_direct(data: bytes | str) -> SealedMessage | None:
    """The message, if data is exactly what to_json writes for a valid one; otherwise None."""
    if type(data) is str:
        if not data.isascii():
            return None
        data = data.encode("ascii")
    elif type(data) is not bytes:
        return None
    match = _CANONICAL_JSON.fullmatch(data) if len(data) <= MAX_MESSAGE_JSON else None
    if match is None:
        return None
    c, e, g, k, m, n, p, r, s, t, u = match.groups()
    suite = _SUITE_LABELS[s]
    nonce, ciphertext = _b64_canonical(n), _b64_canonical(c)
    signature = None if g is None else _b64_canonical(g)
    if (nonce is None or len(nonce) != suite.nonce_size or ciphertext is None or len(ciphertext) < TAG_SIZE
            or (g is not None and (signature is None or len(signature) != curves.SIGNATURE_SIZE))):
        return None
    fields = (s, p, g is None, r, e, k, u, t)
    header = _JSON_HEADERS.get(fields) or _json_header(fields)
    if header is None:
        return None
    try:
        return parse_binary(header + bytes((len(m),)) + m + nonce + ciphertext + (signature or b""))
    except FormatError:
        return None


def require_unsigned(message: SealedMessage) -> None:
    """PolicyError (E_POLICY) unless the message is unsigned (the bot-mode paths refuse signed ones)."""
    if message.signed:
        raise PolicyError("this message is signed: open it with the sender's public identity")
