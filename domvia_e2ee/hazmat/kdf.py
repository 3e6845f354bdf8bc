"""HKDF-SHA256 (RFC 5869) on the standard library's HMAC.

One HMAC per 32-byte output: cheaper than building a cryptography HKDF object per call,
which matters when wrapping to thousands of members. Checked against Wycheproof's HKDF cases.
"""

from __future__ import annotations

import hmac

HASH_SIZE = 32


def extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.digest(salt or bytes(HASH_SIZE), ikm, "sha256")


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    if not 0 < length <= 255 * HASH_SIZE:
        raise ValueError("HKDF-Expand length out of range")
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), "sha256")
        out += block
        counter += 1
    return out[:length]
