"""Field names in words, for error messages: `room id (r)` rather than the wire letter `r`.

The library's FormatError names the field as it is on the wire (`.field`: "r", "enc.x",
"kdf.memory_kib"); the CLI rewrites that name where it prints the error (main._fail). Names
without an entry are shown as they are.
"""

from __future__ import annotations

from typing import Final

from ..errors import FormatError

WORDS: Final[dict[str, str]] = {
    # sealed message, JSON form (spec/message.md)
    "v": "format version", "s": "suite", "r": "room id", "e": "epoch", "k": "key id", "u": "sender id",
    "t": "content type", "m": "message id", "p": "padding flag", "n": "nonce", "c": "ciphertext",
    "g": "signature",
    # sealed message, binary form
    "magic": "magic bytes", "flags": "flags", "room_id": "room id", "key_id": "key id", "sender_id": "sender id",
    "content_type": "content type", "message_id": "message id",
    # public and private identities (spec/identity.md)
    "id": "participant id", "enc": "encryption key", "enc.x": "encryption key", "sig": "signing key",
    "sig.x": "signing key", "kty": "JWK key type", "crv": "JWK curve", "x": "JWK public key",
    "pq": "post-quantum key", "pq.kem": "post-quantum KEM", "pq.pub": "post-quantum public key",
    "x25519": "X25519 private key", "ed25519": "Ed25519 seed", "xwing": "X-Wing seed",
    # bundles, slices and history bundles (spec/bundle.md, spec/history.md)
    "entry_count": "entry count", "member_count": "member count", "entry.wrapped_key": "wrapped key",
    "member.wrapped_key": "wrapped key", "proof": "membership proof", "roster": "member list",
    "allow_unsigned": "unsigned mode", "rooms.epoch": "epoch record",
    # files at rest (spec/files.md)
    "file": "file type", "kdf": "key derivation", "kdf.name": "key derivation function",
    "kdf.memory_kib": "Argon2id memory", "kdf.iterations": "Argon2id iterations", "kdf.lanes": "Argon2id lanes",
    "keyring_key": "key ring key", "owner_fingerprint": "owner fingerprint",
}


def describe(field: str) -> str:
    """`room id (r)` for "r"; a field without words, or whose words are its name, as it is."""
    words = WORDS.get(field)
    return field if words is None or words == field else f"{words} ({field})"


def in_words(message: str, error: BaseException) -> str:
    """message with the field of the FormatError behind error (itself, or its cause) named in words."""
    cause = _format_error(error)
    if cause is None:
        return message
    named = f"{cause.field}: {cause.reason}"
    before, found, after = message.rpartition(named)
    if not found:
        return message
    return f"{before}{describe(cause.field)}: {cause.reason}{after}"


def _format_error(error: BaseException) -> FormatError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, FormatError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
