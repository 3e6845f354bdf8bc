"""HKDF-SHA256 (RFC 5869) on HMAC-SHA256 (RFC 2104) built from hashlib's SHA-256.

HMAC is composed here from two SHA-256 calls because OpenSSL 3's one-shot HMAC, behind
hmac.digest, looks its algorithm up on every call: 1.33 µs against 0.81 µs here for a
32-byte key and a 120-byte message. A wrap runs six HMACs with the GIL held, and the GIL,
not the cores, is what bounds wrapping to many members on two threads.
Checked against Wycheproof's HKDF cases and the RFC 9180 vectors (tests/test_external_vectors.py).
"""

from __future__ import annotations

from hashlib import sha256
from typing import Final

HASH_SIZE: Final = 32
"""Bytes of a SHA-256 output (HKDF's HashLen)."""
_BLOCK: Final = 64
_IPAD: Final = bytes(b ^ 0x36 for b in range(256))
_OPAD: Final = bytes(b ^ 0x5C for b in range(256))
# The padding of a key shorter than a block, already XORed: key || 0^(64-n) then ^ pad.
_IPAD_FILL: Final = [b"\x36" * (_BLOCK - n) for n in range(_BLOCK + 1)]
_OPAD_FILL: Final = [b"\x5c" * (_BLOCK - n) for n in range(_BLOCK + 1)]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104: H((K ^ opad) || H((K ^ ipad) || m)), K zero-padded to the block (or hashed if longer)."""
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    n = len(key)
    inner = sha256(key.translate(_IPAD) + _IPAD_FILL[n] + message).digest()
    return sha256(key.translate(_OPAD) + _OPAD_FILL[n] + inner).digest()


def extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 2.2): the 32-byte pseudorandom key of `ikm` under `salt`. Raises nothing."""
    # An empty salt means HashLen zero bytes (RFC 5869 2.2); HMAC pads both to the same block.
    return hmac_sha256(salt, ikm)


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 2.3): `length` bytes of output keying material bound to `info`.

    Raises `ValueError` when `length` is not from 1 to 255 * 32 (a programming error).
    """
    if not 0 < length <= 255 * HASH_SIZE:
        raise ValueError("HKDF-Expand length out of range")
    if length <= HASH_SIZE:
        return hmac_sha256(prk, info + b"\x01")[:length]
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac_sha256(prk, block + info + bytes((counter,)))
        out += block
        counter += 1
    return out[:length]
