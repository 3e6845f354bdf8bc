"""GF(2^128) arithmetic as GCM uses it and the "invisible salamander" construction, shared by the
key-commitment test and the salamander attack test (Len, Grubbs and Ristenpart, USENIX Security 2021).

GCM's tag is E_K(J0) + GHASH_H(A, C), linear in each ciphertext block: with every block but one fixed,
solving one linear equation in GF(2^128) makes two keys compute the same tag.
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_R = 0xE1 << 120


# GF(2^128) as GCM uses it (NIST SP 800-38D, 6.3): bit 0 is the most significant bit.


def gf_mul(x: int, y: int) -> int:
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def gf_pow(x: int, n: int) -> int:
    result = 1 << 127  # the field's one: the polynomial 1 is the leftmost bit
    while n:
        if n & 1:
            result = gf_mul(result, x)
        x = gf_mul(x, x)
        n >>= 1
    return result


def gf_inv(x: int) -> int:
    return gf_pow(x, (1 << 128) - 2)


def _block(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _aes_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _ghash_blocks(aad: bytes, ciphertext: bytes) -> list[int]:
    def padded(data: bytes) -> list[int]:
        data += bytes(-len(data) % 16)
        return [_block(data[i:i + 16]) for i in range(0, len(data), 16)]

    return padded(aad) + padded(ciphertext) + [_block(struct.pack(">QQ", 8 * len(aad), 8 * len(ciphertext)))]


def gcm_tag(key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    h = _block(_aes_block(key, bytes(16)))
    y = 0
    for x in _ghash_blocks(aad, ciphertext):
        y = gf_mul(y ^ x, h)
    return (y ^ _block(_aes_block(key, nonce + b"\x00\x00\x00\x01"))).to_bytes(16, "big")


def salamander(key_a: bytes, key_b: bytes, nonce: bytes, aad: bytes, blocks: int = 4) -> bytes:
    """ciphertext || tag, valid under both keys: the first ciphertext block is solved for."""
    ciphertext = bytearray(bytes(16) + bytes(range(16)) * (blocks - 1))
    h_a, h_b = _block(_aes_block(key_a, bytes(16))), _block(_aes_block(key_b, bytes(16)))
    j0 = nonce + b"\x00\x00\x00\x01"
    target = _block(_aes_block(key_a, j0)) ^ _block(_aes_block(key_b, j0))
    terms = _ghash_blocks(aad, bytes(ciphertext))  # the unknown block is zero here
    m = len(terms)
    unknown = len(_ghash_blocks(aad, b"")) - 1  # index of the first ciphertext block
    for j, x in enumerate(terms):
        target ^= gf_mul(x, gf_pow(h_a, m - j) ^ gf_pow(h_b, m - j))
    coefficient = gf_pow(h_a, m - unknown) ^ gf_pow(h_b, m - unknown)
    ciphertext[:16] = gf_mul(target, gf_inv(coefficient)).to_bytes(16, "big")
    tag = gcm_tag(key_a, nonce, aad, bytes(ciphertext))
    assert tag == gcm_tag(key_b, nonce, aad, bytes(ciphertext))
    return bytes(ciphertext) + tag
