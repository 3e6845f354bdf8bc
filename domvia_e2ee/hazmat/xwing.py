"""X-Wing (MLKEM768-X25519, HPKE KEM 0x647A) keys for cryptography's hybrid HPKE KEM.

Private keys are kept as the standard 32-byte X-Wing seed, so other languages' X-Wing
implementations import them; cryptography wants the two halves, expanded as the draft says:
SHAKE256(seed, 96) = ML-KEM-768 seed (d || z, 64 bytes) || X25519 private key (32 bytes).
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.hpke import MLKEM768X25519PrivateKey, MLKEM768X25519PublicKey

from ..errors import InvalidKeyError
from . import curves

NAME: Final = "MLKEM768-X25519"
MLKEM_PUBLIC_SIZE: Final = 1184
"""Bytes of the ML-KEM-768 half of a public key."""
PUBLIC_KEY_SIZE: Final = MLKEM_PUBLIC_SIZE + 32
"""Bytes of an X-Wing public key: ML-KEM-768, then X25519."""
ENC_SIZE: Final = 1088 + 32
"""Bytes of an X-Wing encapsulation."""


def _expand(seed: bytes) -> tuple[bytes, bytes]:
    expanded = hashlib.shake_256(seed).digest(96)
    return expanded[:64], expanded[64:]


def private_key(seed: bytes) -> MLKEM768X25519PrivateKey:
    """The X-Wing private key of a 32-byte seed (SHAKE-256 expanded, as the X-Wing draft does).

    Raises `ValueError` for a seed cryptography cannot expand (a programming error).
    """
    mlkem_seed, x_private = _expand(seed)
    return MLKEM768X25519PrivateKey(mlkem.MLKEM768PrivateKey.from_seed_bytes(mlkem_seed),
                                    x25519.X25519PrivateKey.from_private_bytes(x_private))


def public_bytes(seed: bytes) -> bytes:
    """The 1216-byte X-Wing public key of a seed. Raises `ValueError` as `private_key` does."""
    mlkem_seed, x_private = _expand(seed)
    mlkem_public = mlkem.MLKEM768PrivateKey.from_seed_bytes(mlkem_seed).public_key().public_bytes_raw()
    return mlkem_public + curves.x25519_public(x_private)


def public_key(public: bytes) -> MLKEM768X25519PublicKey:
    """cryptography's public key object for 1216 X-Wing bytes.

    Raises `InvalidKeyError` (E_BAD_KEY) for the wrong length, an unusable X25519 half (as
    `curves.check_x25519_public`) or an invalid ML-KEM-768 half.
    """
    if len(public) != PUBLIC_KEY_SIZE:
        raise InvalidKeyError("X-Wing public key must be 1216 bytes")
    curves.check_x25519_public(public[MLKEM_PUBLIC_SIZE:], "pq.pub")
    try:
        mlkem_public = mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_SIZE])
        x_public = x25519.X25519PublicKey.from_public_bytes(public[MLKEM_PUBLIC_SIZE:])
    except ValueError:
        raise InvalidKeyError("pq.pub: not a valid ML-KEM-768 public key") from None
    return MLKEM768X25519PublicKey(mlkem_public, x_public)
