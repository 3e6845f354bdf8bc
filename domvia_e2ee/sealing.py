"""seal and open: the message recipe. No nonce argument, associated data always bound.

Signed is the default: seal() takes the sender's Identity and open() the sender's
PublicIdentity. seal_unsigned()/open_unsigned() are the explicit bot mode: any holder of
the room key can forge such a message under any sender id (spec/message.md).

Error codes (every error is a DomviaError with a stable `code`, spec/errors.md):
E_USAGE an argument of the wrong type (UsageError, also a TypeError); E_FORMAT a malformed
message or id; E_AUTH any cryptographic failure; E_UNKNOWN_KEY a message of another key;
E_UNKNOWN_SENDER the identity given is not the sender's; E_POLICY signed where unsigned is
expected or the reverse; E_KEY_EXHAUSTED the sender's nonce budget for the key is spent.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple, Protocol

from . import labels
from .encoding import check_content_type, check_id
from .errors import FormatError, PolicyError, UnknownKeyError, UnknownSenderError, UsageError
from .hazmat import curves
from .identity import Identity, PublicIdentity
from .keys import RoomKey
from .message import (
    DEFAULT_CONTENT_TYPE, FLAG_PADDED, FLAG_SIGNED, MAX_PLAINTEXT, SealedMessage, header_prefix, parse_binary,
)
from .padding import pad as pad_plaintext
from .padding import unpad


class OpenedMessage(NamedTuple):
    """What open() returns: the plaintext and the metadata it authenticated.

    Every field was authenticated with the plaintext; `signed` says whether the sender's signature
    was verified too (False only from open_unsigned, bot mode). The ids and the content type were
    chosen by the sender: show them with care (the CLI makes their control characters visible).
    """

    plaintext: bytes
    room_id: str
    epoch: int
    sender_id: str
    message_id: str
    content_type: str
    signed: bool

    def __repr__(self) -> str:
        return (f"OpenedMessage(room_id={self.room_id!r}, epoch={self.epoch}, sender_id={self.sender_id!r}, "
                f"message_id={self.message_id!r}, {len(self.plaintext)} bytes, signed={self.signed})")


def seal(key: RoomKey, plaintext: bytes, *, message_id: str, sender: Identity,
         content_type: str = DEFAULT_CONTENT_TYPE, pad: bool = True) -> SealedMessage:
    """Seals and signs plaintext (bytes, at most 65,536) as sender, under key.

    message_id must be unique per sender and room (the receiver's replay check keys on it);
    pad=False reveals the plaintext's exact length. Raises UsageError (E_USAGE) for an argument of
    the wrong type (a str plaintext: encode it first), FormatError (E_FORMAT) for a plaintext too
    long or an invalid id or content type, KeyExhaustedError (E_KEY_EXHAUSTED) past the key's
    message bound for this sender.
    """
    _check_seal_arguments(key, plaintext, message_id, content_type)
    if not isinstance(sender, Identity):
        raise _wrong_type("sender", "an Identity (its private keys sign)", sender)
    return _seal(key, bytes(plaintext), message_id, sender.participant_id, content_type, pad, None, sender)


def seal_unsigned(key: RoomKey, plaintext: bytes, *, message_id: str, sender_id: str,
                  content_type: str = DEFAULT_CONTENT_TYPE, pad: bool = True) -> SealedMessage:
    """Seals without a signature (bot mode): authenticated as 'from some holder of the room key' only.

    Any holder of the key can forge such a message under any sender id. Raises as seal() does.
    """
    _check_seal_arguments(key, plaintext, message_id, content_type)
    if not isinstance(sender_id, str):
        raise _wrong_type("sender_id", "a str", sender_id)
    return _seal(key, bytes(plaintext), message_id, sender_id, content_type, pad, None, None)


def _wrong_type(name: str, expected: str, value: Any) -> UsageError:
    return UsageError(f"{name} must be {expected}, not {type(value).__name__}")


def _check_seal_arguments(key: RoomKey, plaintext: Any, message_id: Any, content_type: Any) -> None:
    if not isinstance(key, RoomKey):
        raise _wrong_type("key", "a RoomKey", key)
    if not isinstance(plaintext, (bytes, bytearray, memoryview)):
        hint = " (encode text first: text.encode())" if isinstance(plaintext, str) else ""
        raise _wrong_type("plaintext", "bytes" + hint, plaintext)
    if not isinstance(message_id, str):
        raise _wrong_type("message_id", "a str", message_id)
    if not isinstance(content_type, str):
        raise _wrong_type("content_type", "a str", content_type)


def _check_open_arguments(key: Any, message: Any) -> None:
    if not isinstance(key, RoomKey):
        raise _wrong_type("key", "a RoomKey", key)
    if not isinstance(message, (SealedMessage, bytes, bytearray, memoryview, str)):
        raise _wrong_type("message", "a SealedMessage, or its binary (bytes) or JSON (str or bytes) form", message)


class Signer(Protocol):
    """What signs a sealed message: an Identity, or a test double."""

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature of message."""
        ...


def _seal(key: RoomKey, plaintext: bytes, message_id: str, sender_id: str, content_type: str,
          pad: bool, nonce: bytes | None, signer: Signer | None) -> SealedMessage:
    if len(plaintext) > MAX_PLAINTEXT:
        raise FormatError("plaintext", f"longer than {MAX_PLAINTEXT} bytes: send it as an attachment")
    check_id(message_id, "message_id")
    flags = (FLAG_PADDED if pad else 0) | (FLAG_SIGNED if signer is not None else 0)
    prefix = key.prefixes.get((sender_id, content_type, flags))
    if prefix is None:
        prefix = header_prefix(key.suite, flags, key.room_id, key.epoch, key.key_id,
                               check_id(sender_id, "sender_id"), check_content_type(content_type))
        key.prefixes[(sender_id, content_type, flags)] = prefix
    cipher = key.sender_cipher(sender_id)
    key.reserve_seal(sender_id)
    header = prefix + _LENGTH_BYTE[len(message_id)] + message_id.encode()
    body = pad_plaintext(plaintext) if pad else plaintext
    if nonce:
        ciphertext = cipher.encrypt(nonce, body, labels.AAD_MESSAGE + header)
    else:
        nonce, ciphertext = cipher.encrypt_random(body, labels.AAD_MESSAGE + header)
    wire = header + nonce + ciphertext
    signature = None
    if signer is not None:
        signature = signer.sign(labels.SIG_MESSAGE + wire)
        wire += signature
    return tuple.__new__(SealedMessage, (key.suite, flags, key.room_id, key.epoch, key.key_id, sender_id,
                                         content_type, message_id, nonce, ciphertext, signature, wire, len(header)))


_LENGTH_BYTE: Final = [bytes((n,)) for n in range(256)]  # str8 length prefixes, without a bytes() per message


def _seal_from_parts(key: RoomKey, plaintext: bytes, *, message_id: str, sender_id: str,
                     content_type: str, pad: bool, nonce: bytes, signer: Signer | None) -> SealedMessage:
    """Fixed-nonce sealing for test vectors only. Never call it with a nonce used before."""
    return _seal(key, plaintext, message_id, sender_id, content_type, pad, nonce, signer)


def open(key: RoomKey, message: SealedMessage | bytes | str, *, sender: PublicIdentity) -> OpenedMessage:  # noqa: A001
    """Verifies the sender's signature, then decrypts. The message must be signed.

    message is a SealedMessage or either wire form (binary bytes, JSON str or bytes). Raises
    UsageError (E_USAGE) for an argument of the wrong type, FormatError (E_FORMAT) for a malformed
    message, UnknownKeyError (E_UNKNOWN_KEY) for a message sealed under another key,
    PolicyError (E_POLICY) for an unsigned message, UnknownSenderError (E_UNKNOWN_SENDER) when
    sender is not the message's sender, AuthenticationError (E_AUTH) for any forgery or tampering.
    """
    _check_open_arguments(key, message)
    if not isinstance(sender, PublicIdentity):
        raise _wrong_type("sender", "a PublicIdentity (the sender's public keys)", sender)
    return _open_parsed(key, _parse(message), sender)


def _open_parsed(key: RoomKey, sealed: SealedMessage, sender: PublicIdentity) -> OpenedMessage:
    """open() of a message just parsed from its wire (KeyRing parses once, then calls this)."""
    _check_key(key, sealed)
    if not sealed.signed or sealed.signature is None:
        raise PolicyError("message is not signed; open_unsigned() is the explicit unsigned mode")
    if sender.participant_id != sealed.sender_id:
        raise UnknownSenderError("the identity given is not the message's sender")
    curves.verify(sender.ed25519, sealed.signature, labels.SIG_MESSAGE + sealed.signed_part)
    return _decrypt(key, sealed)


def open_unsigned(key: RoomKey, message: SealedMessage | bytes | str) -> OpenedMessage:
    """Opens an unsigned (bot-mode) message; refuses a signed one, whose signature it would skip.

    The sender id it reports is a claim any holder of the key could make. Raises as open() does,
    PolicyError (E_POLICY) for a signed message.
    """
    _check_open_arguments(key, message)
    return _open_unsigned_parsed(key, _parse(message))


def _open_unsigned_parsed(key: RoomKey, sealed: SealedMessage) -> OpenedMessage:
    _check_key(key, sealed)
    if sealed.flags & FLAG_SIGNED:
        raise PolicyError("message is signed: open it with the sender's public identity")
    return _decrypt(key, sealed)


def _parse(message: SealedMessage | bytes | str) -> SealedMessage:
    """SealedMessage.parse, with the binary form of the wire (type bytes) one call shorter."""
    if type(message) is bytes and message[:1] != b"{":
        return parse_binary(message)
    if isinstance(message, memoryview):
        message = bytes(message)
    return SealedMessage.parse(message)


def _check_key(key: RoomKey, sealed: SealedMessage) -> None:
    """The key id commits to the key, so a ciphertext opens under one key only (no salamanders)."""
    if (sealed.epoch != key.epoch or sealed.room_id != key.room_id or sealed.suite != key.suite
            or not key.matches(sealed.key_id)):
        raise UnknownKeyError(f"sealed under another key (room {sealed.room_id!r}, epoch {sealed.epoch})")


def _decrypt(key: RoomKey, sealed: SealedMessage) -> OpenedMessage:
    _, flags, room_id, epoch, _, sender_id, content_type, message_id, nonce, ciphertext, _, wire, header_size = sealed
    body = key.sender_cipher(sender_id).decrypt(nonce, ciphertext, labels.AAD_MESSAGE + wire[:header_size])
    plaintext = unpad(body) if flags & FLAG_PADDED else body
    return tuple.__new__(OpenedMessage, (plaintext, room_id, epoch, sender_id, message_id, content_type,
                                         bool(flags & FLAG_SIGNED)))
