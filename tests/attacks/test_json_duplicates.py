"""Attack: duplicate JSON keys, or one field in two wire forms ("c" and "\\u0063").

Sources: JSON parser differentials: RFC 8259 section 4 leaves duplicate names undefined, and
parsers pick the first, the last, or fail (Bishop Fox, "An Exploration of JSON Interoperability
Vulnerabilities", 2021). If the relay's moderation, another client and this library read different
values from one payload, each shows its own message: a salamander made of parsing, not of keys.

Why it fails here: encoding.loads_object rejects any duplicate member name after unescaping, so
"c" and "\\u0063" are the same name and a duplicate (MR-JSON-DUPLICATE); unknown members, wrong JSON
types (true or 1.0 for an integer), NaN and Infinity, and non-canonical base64url are refused
(spec/encoding.md). What the AEAD and the signature cover is the binary header rebuilt from the
parsed fields, so the spellings the JSON grammar does allow (spacing, key order, escapes in
string values) all give one authenticated byte string and one replay identity.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from domvia_e2ee import FormatError, KeyRing, PublicIdentity, SealedMessage
from domvia_e2ee.encoding import dumps, loads_object

from .scenario import ROOM, error_code, identity, scenario, state


def _message_json() -> bytes:
    s = scenario()
    return s.rings["alice"].seal(ROOM, b"the real one", message_id="m-1").to_json().encode()


def _with_member(document: bytes, raw_member: bytes) -> bytes:
    """document with one more member inserted verbatim before its closing brace."""
    return document[:-1] + b"," + raw_member + b"}"


def _refused_as_duplicate(document: bytes, parse: Callable[[bytes], object] = SealedMessage.from_json) -> None:
    with pytest.raises(FormatError) as info:
        parse(document)
    assert info.value.reason == "duplicate field"


@pytest.mark.parametrize("spelling", [b'"c"', b'"\\u0063"'])
def test_duplicate_ciphertext_member_is_refused(spelling: bytes) -> None:
    document = _message_json()
    other = json.loads(document)["c"][::-1]
    _refused_as_duplicate(_with_member(document, spelling + b':"' + other.encode() + b'"'))


@pytest.mark.parametrize("field", ["v", "s", "r", "e", "k", "u", "t", "m", "p", "n", "c", "g"])
def test_every_message_member_duplicated_in_escaped_form_is_refused(field: str) -> None:
    document = _message_json()
    value = json.dumps(json.loads(document)[field]).encode()
    escaped = b'"' + "".join(f"\\u{ord(ch):04x}" for ch in field).encode() + b'"'
    _refused_as_duplicate(_with_member(document, escaped + b":" + value))


def test_duplicates_inside_identity_jwks_and_state_files_are_refused() -> None:
    public = identity("alice").public.to_json().encode()
    _refused_as_duplicate(public.replace(b'"kty":"OKP"', b'"kty":"OKP","kty":"OKP"'), PublicIdentity.from_json)
    _refused_as_duplicate(public.replace(b'"crv":"X25519"', b'"crv":"X25519","\\u0063rv":"X25519"'),
                          PublicIdentity.from_json)
    s = scenario()
    exported = dumps(state(s.rings["bob"]))
    doubled = exported.replace(b'"allow_unsigned":false', b'"allow_unsigned":false,"allow_unsigned":true')
    assert doubled != exported
    _refused_as_duplicate(doubled, lambda data: loads_object(data, "keyring"))


@pytest.mark.parametrize(("field", "value"), [
    ("e", "1.0"), ("e", "1e0"), ("e", "true"), ("e", '"1"'), ("v", "1.0"), ("p", "true"), ("p", "2"),
    ("e", "NaN"), ("e", "Infinity"), ("e", "-Infinity"), ("e", "1e400"), ("e", "0"), ("e", "4294967296"),
    ("u", '"\\u00e9"'), ("u", "null"), ("c", "null"), ("s", '"a256gcm"'),
])
def test_other_spellings_of_values_that_would_change_meaning_are_refused(field: str, value: str) -> None:
    obj = json.loads(_message_json())
    text = dumps(obj).decode().replace(f'"{field}":{json.dumps(obj[field])}', f'"{field}":{value}', 1)
    assert text != dumps(obj).decode()
    assert error_code(SealedMessage.from_json, text.encode()) == "E_FORMAT"


@pytest.mark.parametrize("suffix", ["=", "==", "A"])
def test_non_canonical_base64url_is_refused(suffix: str) -> None:
    obj = json.loads(_message_json())
    for field in ("k", "n", "c", "g"):
        assert error_code(SealedMessage.from_json, dumps(dict(obj, **{field: obj[field] + suffix}))) == "E_FORMAT"


def test_non_canonical_trailing_bits_are_refused() -> None:
    """A 32-byte key id is 43 base64url characters; the last carries 4 unused bits that must be zero."""
    obj = json.loads(_message_json())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(obj["k"][-1])
    for unused in range(1, 4):
        changed = obj["k"][:-1] + alphabet[last | unused]
        assert error_code(SealedMessage.from_json, dumps(dict(obj, k=changed))) == "E_FORMAT"


@pytest.mark.parametrize("text", [b"\xef\xbb\xbf{}", b"{} {}", b"[]", b'"x"', b"{\"c\":1", b"\xc1\xa3", b"{\"\\ud800\":1}"])
def test_other_documents_are_refused(text: bytes) -> None:
    assert error_code(SealedMessage.from_json, text) == "E_FORMAT"


def test_allowed_spellings_are_one_authenticated_message() -> None:
    s = scenario()
    message = s.rings["alice"].seal(ROOM, b"one message", message_id="m-1")
    canonical = message.to_json()
    obj = json.loads(canonical)
    spellings = [
        json.dumps(obj, indent=1).encode(),
        json.dumps(dict(sorted(obj.items(), reverse=True))).encode(),
        canonical.replace('"u":"alice"', '"u":"\\u0061lice"').encode(),
        canonical.replace('"t":"text/plain"', '"t":"text\\/plain"').encode(),
    ]
    for spelling in spellings:
        assert spelling != canonical.encode()
        parsed = SealedMessage.from_json(spelling)
        assert parsed.to_bytes() == message.to_bytes() and parsed.to_json() == canonical
    ring: KeyRing = s.rings["bob"]
    ring.open(spellings[0])
    for spelling in [*spellings[1:], canonical, message.to_bytes()]:
        assert error_code(ring.open, spelling) == "E_REPLAY"
