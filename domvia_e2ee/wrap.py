"""Wrapping a room key to one participant with standard HPKE (RFC 9180, base mode).

Classic: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
Post-quantum hybrid: MLKEM768-X25519 (X-Wing), HKDF-SHA256, AES-256-GCM.
The HPKE info binds a label, the KEM, the suite, the room, the epoch, the key id and the
recipient id, so a wrapped key opens only for the recipient, room and epoch it was made for.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite as HpkeSuite

from . import labels
from .encoding import Writer
from .errors import AuthenticationError, FormatError, InvalidKeyError
from .hazmat import hpke, xwing
from .hazmat.suites import Suite
from .identity import Identity, PublicIdentity
from .keys import RoomKey

_CLASSIC: Final = HpkeSuite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_HYBRID: Final = HpkeSuite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
# Below this many recipients a thread pool costs more than it saves.
PARALLEL_THRESHOLD: Final = 64
"""`wrap_many` uses threads from this many classic recipients on."""
WORKERS: Final = 2
"""Threads `wrap_many` uses (libsodium releases the GIL, so two cores work at once)."""
Progress = Callable[[int, int], None]


class WrapKem(enum.IntEnum):
    """Wire identifiers of the wrapping KEMs (spec/wrap.md)."""

    X25519 = 1
    MLKEM768_X25519 = 2

    @property
    def wrapped_size(self) -> int:
        """Bytes of a key wrapped with this KEM: the encapsulation, the 32-byte secret and the tag."""
        return (hpke.ENC_SIZE if self is WrapKem.X25519 else xwing.ENC_SIZE) + 32 + 16

    @classmethod
    def from_wire(cls, value: int, field: str = "kem") -> WrapKem:
        """The KEM of a wire identifier. Raises `FormatError` (E_FORMAT) naming `field` for an unknown one."""
        try:
            return cls(value)
        except ValueError:
            raise FormatError(field, f"unknown KEM {value}") from None


def wrap_info(label: bytes, kem: WrapKem, suite: Suite, room_id: str, epoch: int, key_id: bytes,
              recipient_id: str) -> bytes:
    """The HPKE info of one wrapped key: label, KEM, suite, room, epoch, key id and recipient (spec/wrap.md).

    Expects checked ids; raises no DomviaError.
    """
    return (Writer(label).u8(kem).u8(suite).str8(room_id).u32(epoch).raw(key_id)
            .str8(recipient_id).getvalue())


def _info(key: RoomKey, kem: WrapKem, recipient_id: str, label: bytes) -> bytes:
    return wrap_info(label, kem, key.suite, key.room_id, key.epoch, key.key_id, recipient_id)


def wrap(key: RoomKey, recipient: PublicIdentity, kem: WrapKem, label: bytes = labels.INFO_WRAP) -> bytes:
    """enc || ciphertext of the 32-byte room key secret, for one recipient.

    Raises `InvalidKeyError` (E_BAD_KEY) when `kem` is X-Wing and the recipient has no post-quantum
    key, and `AuthenticationError` (E_AUTH) when the recipient's X25519 key gives an all-zero shared
    secret (a low-order key that bypassed `PublicIdentity`'s import checks).
    """
    info = _info(key, kem, recipient.participant_id, label)
    if kem is WrapKem.X25519:
        return hpke.seal_base(recipient.x25519, info, bytes(key))
    if recipient.xwing is None:
        raise InvalidKeyError(f"{recipient.participant_id} has no post-quantum key")
    return _HYBRID.encrypt(bytes(key), xwing.public_key(recipient.xwing), info=info)


def _wrap_with_ephemeral(key: RoomKey, recipient: PublicIdentity, ephemeral: bytes,
                         label: bytes = labels.INFO_WRAP) -> bytes:
    """Classic wrap with a given ephemeral private key: for test vectors only."""
    info = _info(key, WrapKem.X25519, recipient.participant_id, label)
    return hpke.seal_base(recipient.x25519, info, bytes(key), ephemeral_private=ephemeral)


def _classic_wrapper(key: RoomKey) -> Callable[[PublicIdentity], bytes]:
    """wrap() for X25519 with what all recipients share built once: the info up to the id."""
    prefix = Writer(labels.INFO_WRAP).u8(WrapKem.X25519).u8(key.suite).str8(key.room_id).u32(key.epoch)
    info_prefix, secret, seal = prefix.raw(key.key_id).getvalue(), bytes(key), hpke.seal_base

    def wrap_one(recipient: PublicIdentity) -> bytes:
        recipient_id = recipient.participant_id.encode("ascii")
        return seal(recipient.x25519, info_prefix + bytes((len(recipient_id),)) + recipient_id, secret)
    return wrap_one


def wrap_many(key: RoomKey, recipients: Sequence[PublicIdentity], kem: WrapKem,
              progress: Progress | None = None) -> list[bytes]:
    """Wraps to every recipient, on both cores when it pays: libsodium releases the GIL.

    Returns the wrapped keys in the order of `recipients`; `progress(1, total)` is called after each.
    Raises what `wrap` raises (E_BAD_KEY, E_AUTH), for the first recipient that fails.
    """
    wrap_one = _classic_wrapper(key) if kem is WrapKem.X25519 else (lambda r: wrap(key, r, kem))

    def run(chunk: Sequence[PublicIdentity]) -> list[bytes]:
        out = []
        for recipient in chunk:
            out.append(wrap_one(recipient))
            if progress is not None:
                progress(1, len(recipients))
        return out

    if len(recipients) < PARALLEL_THRESHOLD or kem is not WrapKem.X25519:
        return run(recipients)
    half = len(recipients) // 2
    with ThreadPoolExecutor(WORKERS) as pool:
        first = pool.submit(run, recipients[:half])
        second = run(recipients[half:])
        return first.result() + second


def unwrap(identity: Identity, wrapped: bytes, *, kem: WrapKem, suite: Suite, room_id: str, epoch: int,
           key_id: bytes, label: bytes = labels.INFO_WRAP) -> RoomKey:
    """Opens a wrapped key with cryptography's HPKE and checks it against the signed key id.

    Raises `FormatError` (E_FORMAT) when `wrapped` is not `kem.wrapped_size` bytes, and
    `AuthenticationError` (E_AUTH), with nothing more said, when it does not open for this identity,
    room, epoch and label (or the identity lacks the X-Wing key), or when the key it holds does
    not match `key_id`.
    """
    if len(wrapped) != kem.wrapped_size:
        raise FormatError("wrapped_key", f"must be {kem.wrapped_size} bytes")
    info = wrap_info(label, kem, suite, room_id, epoch, key_id, identity.participant_id)
    try:
        if kem is WrapKem.X25519:
            secret = _CLASSIC.decrypt(wrapped, _x25519_private(identity), info=info)
        else:
            private = identity._xwing_private_key()
            if private is None:
                raise AuthenticationError()
            secret = _HYBRID.decrypt(wrapped, private, info=info)
    except (InvalidTag, ValueError, TypeError):
        raise AuthenticationError() from None
    key = RoomKey(secret, room_id=room_id, epoch=epoch, suite=suite)
    if not key.matches(key_id):
        raise AuthenticationError()
    return key


def _x25519_private(identity: Identity) -> X25519PrivateKey:
    # Loading the key costs OpenSSL a scalar multiplication (as much as the unwrap itself): once per identity.
    if identity._x25519_key is None:
        identity._x25519_key = X25519PrivateKey.from_private_bytes(identity._x25519_private())
    key: X25519PrivateKey = identity._x25519_key
    return key
