"""X25519 and Ed25519 on libsodium (PyNaCl): validation, exchange, sign, verify.

libsodium is used rather than OpenSSL because it measured about 1.4x faster for Ed25519
sign and 1.6x for verify here (benchmarks/bench_primitives.py), and because its calls
release the GIL, which lets wrapping to many members run on both cores.
"""

from __future__ import annotations

import functools
from typing import Final

from nacl import bindings as sodium
from nacl.exceptions import BadSignatureError, CryptoError, RuntimeError as SodiumRuntimeError

from ..errors import AuthenticationError, InvalidKeyError

PUBLIC_KEY_SIZE: Final = 32
SEED_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
_P: Final = 2**255 - 19
# Any clamped scalar is a multiple of 8, so X25519(scalar, u) is zero exactly when u has small order.
_PROBE_SCALAR: Final = bytes([0x48] + [0x11] * 30 + [0x51])


def check_x25519_public(public: bytes, field: str) -> bytes:
    """`public` if it is a usable X25519 public key: rejects non-canonical encodings (u >= p, top bit
    set) and small-order points with `InvalidKeyError` (E_BAD_KEY) naming `field`."""
    if len(public) != PUBLIC_KEY_SIZE:
        raise InvalidKeyError(f"{field}: X25519 public key must be 32 bytes")
    if int.from_bytes(public, "little") >= _P:
        raise InvalidKeyError(f"{field}: X25519 public key is not canonical")
    if _small_order_x25519(bytes(public)):
        raise InvalidKeyError(f"{field}: X25519 public key has small order")
    return public


@functools.lru_cache(maxsize=1 << 15)
def _small_order_x25519(public: bytes) -> bool:
    # One scalar multiplication per check, and a rotator checks every member on every rotation.
    try:
        sodium.crypto_scalarmult(_PROBE_SCALAR, public)
    except (CryptoError, SodiumRuntimeError):
        return True
    return False


def x25519_public(private: bytes) -> bytes:
    """The X25519 public key of a 32-byte private key. Raises no DomviaError."""
    return sodium.crypto_scalarmult_base(private)


def x25519(private: bytes, public: bytes) -> bytes:
    """Diffie-Hellman; an all-zero result (small-order peer) is an authentication failure.

    Raises `AuthenticationError` (E_AUTH) for that result.
    """
    try:
        return sodium.crypto_scalarmult(private, public)
    except (CryptoError, SodiumRuntimeError):
        raise AuthenticationError() from None


def check_ed25519_public(public: bytes, field: str) -> bytes:
    """`public` if it is canonical, on the curve, in the prime-order subgroup and not of small order.

    Raises `InvalidKeyError` (E_BAD_KEY) naming `field` otherwise.
    """
    if len(public) != PUBLIC_KEY_SIZE or not _valid_ed25519(bytes(public)):
        raise InvalidKeyError(f"{field}: not a valid Ed25519 public key")
    return public


@functools.lru_cache(maxsize=1 << 15)
def _valid_ed25519(public: bytes) -> bool:
    # The subgroup check is a scalar multiplication, as dear as a verification: a room's members
    # are checked again and again (each roster, each sender), so remember the answer for a public value.
    return bool(sodium.crypto_core_ed25519_is_valid_point(public))


class SigningKey:
    """An Ed25519 signing key held as libsodium's expanded form; never printed."""

    __slots__ = ("public", "_expanded")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError("Ed25519 seeds are 32 bytes")
        self.public, self._expanded = sodium.crypto_sign_seed_keypair(seed)

    def __repr__(self) -> str:
        return "SigningKey(<redacted>)"

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message` (RFC 8032, deterministic). Raises nothing."""
        return sodium.crypto_sign(message, self._expanded)[:SIGNATURE_SIZE]


def verify(public: bytes, signature: bytes, message: bytes) -> None:
    """Strict RFC 8032 verification (libsodium: canonical S, no small-order R or A, R re-encoded and compared).

    libsodium's verify does not check that A is in the prime-order subgroup: a mixed-order key (a genuine key
    plus a point of order 8) verifies signatures made for it (tests/test_signature_edges.py). Every key given
    here must therefore come from a PublicIdentity, whose check_ed25519_public refuses such keys.

    Returns None for a valid signature; raises `AuthenticationError` (E_AUTH) for anything else.
    """
    if len(signature) != SIGNATURE_SIZE:
        raise AuthenticationError()
    try:
        sodium.crypto_sign_open(signature + message, public)
    except (BadSignatureError, CryptoError, SodiumRuntimeError, ValueError):
        raise AuthenticationError() from None
