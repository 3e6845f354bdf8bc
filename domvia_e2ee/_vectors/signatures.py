"""Ed25519 signatures that satisfy the verification equation and must still be rejected.

The cofactorless RFC 8032 equation [S]B = R + [k]A, k = SHA-512(R || A || M) mod L, can hold for a
signature that spec/message.md#signature refuses: a scalar S >= L, a small-order R (the identity), a
non-canonical encoding of R, and a public key A that is small order, non-canonical or of mixed order.
Platform Ed25519 APIs (WebCrypto in Node and Chromium, @noble/curves' default verify) accept some of
these; libsodium and this format do not. Every signature built here is checked, with the plain
arithmetic below, to satisfy the equation as a lenient verifier decodes it, so a vector built from it
fails only because of the strict check it names.

Use, for any signed structure (messages here; bundles, slices and history bundles later)::

    from domvia_e2ee._vectors.signatures import edge_signatures

    for edge in edge_signatures(signer_seed, signed_bytes):
        data = rebuild(edge.signature)              # the structure with its signature replaced
        signer = edge.public                        # the Ed25519 key to verify with (maybe not the signer's)
        # a vector: the structure `data`, verified with an identity whose "sig" key is `signer`,
        # must fail with edge.code ("E_AUTH" for the signature, "E_BAD_KEY" for the key).

``signed_bytes`` are the exact bytes the structure signs (its label and body). When they depend on the
signer's public key (a structure that embeds the signer's fingerprint), pass a callable instead:
``edge_signatures(seed, lambda public: signed_bytes_for(public))``; it is called with each edge case's key.
``edge.replaces_key`` says whether the case swaps the signer's key (then the identity offered to the
verifier must carry ``edge.public``, and the expected code is E_BAD_KEY, found when importing the identity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

P: Final = 2**255 - 19
L: Final = 2**252 + 27742317777372353535851937790883648493
D: Final = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1: Final = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z
IDENTITY: Final[Point] = (0, 1, 1, 0)


def _add(p: Point, q: Point) -> Point:
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def multiply(scalar: int, point: Point) -> Point:
    """[scalar]point, scalar >= 0 taken as is (not reduced)."""
    out = IDENTITY
    while scalar:
        if scalar & 1:
            out = _add(out, point)
        point = _add(point, point)
        scalar >>= 1
    return out


def _affine(point: Point) -> tuple[int, int]:
    x, y, z, _ = point
    inverse = pow(z, P - 2, P)
    return x * inverse % P, y * inverse % P


def same_point(p: Point, q: Point) -> bool:
    return _affine(p) == _affine(q)


def decode_lenient(data: bytes) -> Point | None:
    """A point from 32 bytes as a permissive verifier reads them: y reduced mod p, and an x = 0 with the
    sign bit set read as x = 0. None if no point has that y."""
    value = int.from_bytes(data, "little")
    sign, y = value >> 255, (value & ((1 << 255) - 1)) % P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P != u:
        x = x * _SQRT_M1 % P
        if v * x * x % P != u:
            return None
    if x & 1 != sign and x:
        x = P - x
    return (x, y, 1, x * y % P)


def encode(point: Point) -> bytes:
    x, y = _affine(point)
    return (y | (x & 1) << 255).to_bytes(32, "little")


BASE: Final = decode_lenient((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))
assert BASE is not None


def _k(r: bytes, public: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + public + message).digest(), "little") % L


def equation_holds(public: bytes, signature: bytes, message: bytes) -> bool:
    """The cofactorless equation [S]B = R + [k]A as a lenient verifier checks it: S not reduced or
    bounded, R and A decoded leniently, no small-order or subgroup check."""
    r_point, a_point = decode_lenient(signature[:32]), decode_lenient(public)
    if r_point is None or a_point is None or len(signature) != 64:
        return False
    s = int.from_bytes(signature[32:], "little")
    assert BASE is not None
    return same_point(multiply(s, BASE), _add(r_point, multiply(_k(signature[:32], public, message), a_point)))


def secret_scalar(seed: bytes) -> int:
    """The clamped scalar a of RFC 8032 section 5.1.5, with A = [a]B."""
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


def sign(seed: bytes, message: bytes) -> bytes:
    """Plain RFC 8032 signing (the same bytes as libsodium), to keep this module self-contained."""
    assert BASE is not None
    h = hashlib.sha512(seed).digest()
    public = encode(multiply(secret_scalar(seed), BASE))
    r = int.from_bytes(hashlib.sha512(h[32:] + message).digest(), "little") % L
    r_bytes = encode(multiply(r, BASE))
    return r_bytes + ((r + _k(r_bytes, public, message) * secret_scalar(seed)) % L).to_bytes(32, "little")


# Encodings of the identity point (x = 0, y = 1): canonical, y + p, and x = 0 with the sign bit set.
R_IDENTITY: Final = (1).to_bytes(32, "little")
R_IDENTITY_Y_PLUS_P: Final = (P + 1).to_bytes(32, "little")
R_IDENTITY_NEGATIVE_ZERO: Final = (1 | 1 << 255).to_bytes(32, "little")
# A point of order 8 (canonical), so genuine + T8 is a key of mixed order.
ORDER8: Final = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")


@dataclass(frozen=True)
class EdgeSignature:
    name: str
    description: str
    public: bytes
    signature: bytes
    replaces_key: bool

    @property
    def code(self) -> str:
        return "E_BAD_KEY" if self.replaces_key else "E_AUTH"


SignedBytes = bytes | Callable[[bytes], bytes]


def edge_signatures(seed: bytes, signed: SignedBytes) -> list[EdgeSignature]:
    """Every edge case for the signer with this Ed25519 seed over these signed bytes (see the module doc)."""
    assert BASE is not None
    a = secret_scalar(seed)
    genuine = encode(multiply(a, BASE))

    def message(public: bytes) -> bytes:
        return signed(public) if callable(signed) else signed

    m = message(genuine)
    good = sign(seed, m)
    out = [EdgeSignature("s-plus-l", "S + L: the genuine signature with a non-reduced scalar", genuine,
                         good[:32] + (int.from_bytes(good[32:], "little") + L).to_bytes(32, "little"), False)]
    for name, r_bytes, what in (("r-identity", R_IDENTITY, "R is the identity point (small order)"),
                                ("r-identity-y-plus-p", R_IDENTITY_Y_PLUS_P,
                                 "R is the identity encoded with y = p + 1 (non-canonical, small order)"),
                                ("r-identity-negative-zero", R_IDENTITY_NEGATIVE_ZERO,
                                 "R is the identity encoded with x = 0 and the sign bit set (non-canonical)")):
        # S = k * a makes [S]B = [k]A = R + [k]A when R is the identity: the signer can always do it.
        s = _k(r_bytes, genuine, m) * a % L
        out.append(EdgeSignature(name, f"{what}, S = k * a", genuine, r_bytes + s.to_bytes(32, "little"), False))
    # Keys of small order: A = the identity, in two encodings, with R = the identity and S = 0 ([k]A is the identity).
    for name, key, what in (("a-identity", R_IDENTITY, "A is the identity point"),
                            ("a-identity-y-plus-p", R_IDENTITY_Y_PLUS_P, "A is the identity encoded with y = p + 1")):
        out.append(EdgeSignature(name, f"{what}, R = the identity, S = 0", key, R_IDENTITY + bytes(32), True))
    # A small-order key of order 8: any genuine-looking R = [r]B, S = r works when 8 divides k.
    out.append(_search("a-order-8", "A has order 8; R = [r]B, S = r, r chosen so that 8 divides k", ORDER8, 0, message))
    # A mixed-order key genuine + T8 (its owner knows a): R = [r]B, S = r + k * a works when 8 divides k.
    mixed = encode(_add(multiply(a, BASE), _decoded(ORDER8)))
    out.append(_search("a-mixed-order", "A is the signer's key plus a point of order 8 (not in the prime-order "
                       "subgroup); S = r + k * a, r chosen so that 8 divides k", mixed, a, message))
    for edge in out:
        if not equation_holds(edge.public, edge.signature, message(edge.public)):
            raise AssertionError(f"{edge.name}: the verification equation does not hold")
    return out


def _decoded(data: bytes) -> Point:
    point = decode_lenient(data)
    assert point is not None
    return point


def _search(name: str, description: str, public: bytes, a: int, message: Callable[[bytes], bytes]) -> EdgeSignature:
    assert BASE is not None
    m = message(public)
    for r in range(1, 1000):
        r_bytes = encode(multiply(r, BASE))
        k = _k(r_bytes, public, m)
        if k % 8 == 0:
            return EdgeSignature(name, description, public, r_bytes + ((r + k * a) % L).to_bytes(32, "little"), True)
    raise AssertionError(f"{name}: no r with 8 | k in 1000 tries")
