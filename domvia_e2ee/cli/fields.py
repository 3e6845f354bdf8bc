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
    "rotator_id": "rotator id", "sharer_id": "sharer id", "recipient_id": "recipient id", "kem": "key wrapping",
    "issued_at": "issue time", "root": "member tree root", "anchor_epoch": "anchor epoch",
    "entry_count": "entry count", "member_count": "member count",
    "member.id": "member id", "member.fingerprint": "member fingerprint", "member.wrapped_key": "wrapped key",
    "entries": "history entries", "entry.epoch": "history entry epoch", "entry.suite": "history entry suite",
    "entry.key_id": "history entry key id", "entry.wrapped_key": "wrapped key",
    "entry.roster": "history entry member list", "entry.roster.id": "history entry member id",
    "entry.roster.fingerprint": "history entry member fingerprint", "roster_upgrade": "member list upgrade",
    "proof": "membership proof", "proof.index": "membership proof index", "proof.path": "membership proof path",
    "proof.wrapped_digest": "membership proof digest", "path": "Merkle path", "index": "member index",
    "roster": "member list", "allow_unsigned": "unsigned mode", "rooms.epoch": "epoch record",
    # group state v2: epoch headers, member entries and proofs (spec/bundle.md)
    "previous": "previous epoch's hash", "max_messages": "rotation policy message limit",
    "max_age_seconds": "rotation policy age limit", "admin_count": "admin count", "admins": "admin set",
    "admin.id": "admin id", "admin.fingerprint": "admin fingerprint", "members": "member list",
    "authority": "authority proof", "signature": "signature", "header": "epoch header",
    "member.x25519": "member X25519 key", "member.ed25519": "member Ed25519 key", "member.xwing": "member X-Wing key",
    "rotator.id": "rotator id", "rotator.x25519": "rotator X25519 key", "rotator.ed25519": "rotator Ed25519 key",
    "rotator.xwing": "rotator X-Wing key", "rotator.wrapped_digest": "rotator wrapped-key digest",
    "rotator.index": "rotator index", "rotator.path": "rotator Merkle path", "sharer.id": "sharer id",
    "sharer.path": "sharer Merkle path", "entry.header": "history entry header", "anchors": "join anchors",
    # files at rest (spec/files.md)
    "file": "file type", "kdf": "key derivation", "kdf.name": "key derivation function",
    "kdf.memory_kib": "Argon2id memory", "kdf.iterations": "Argon2id iterations", "kdf.lanes": "Argon2id lanes",
    "keyring_key": "key ring key", "owner_fingerprint": "owner fingerprint",
    # users, device lists and key backups (spec/users.md, spec/backup.md)
    "recovery_key": "recovery key", "user_id": "user id", "user_key": "user key", "device_list": "device list",
    "device.id": "device id", "revoked.id": "revoked device id", "backup_info": "backup info",
    "backup_chunk": "key backup chunk", "uploader.id": "uploader id",
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
