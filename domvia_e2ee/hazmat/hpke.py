"""RFC 9180 HPKE, base mode, single shot: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
AES-256-GCM (or ChaCha20-Poly1305, for checking the RFC's own vectors).

Sealing is composed here from libsodium X25519, stdlib HMAC and cryptography's AEAD,
because cryptography's HPKE holds the GIL (wrapping to 1,000 members could not use the
second core) and cannot take a fixed ephemeral key (test vectors need one). Opening uses
cryptography's HPKE (domvia_e2ee.wrap), so every wrap we make is checked by an independent
implementation in the tests, and the RFC 9180 vectors pin this code byte for byte.
"""

from __future__ import annotations

import os
import struct
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from . import curves, kdf

KEM_X25519: Final = 0x0020
KDF_HKDF_SHA256: Final = 0x0001
AEAD_AES_256_GCM: Final = 0x0002
AEAD_CHACHA20_POLY1305: Final = 0x0003
MODE_BASE: Final = 0x00
MODE_PSK: Final = 0x01
ENC_SIZE: Final = 32
_VERSION: Final = b"HPKE-v1"
_KEM_SUITE: Final = b"KEM" + struct.pack(">H", KEM_X25519)


def _suite_id(aead_id: int) -> bytes:
    return b"HPKE" + struct.pack(">HHH", KEM_X25519, KDF_HKDF_SHA256, aead_id)


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    """LabeledExtract (RFC 9180 4): HKDF-Extract over "HPKE-v1" || suite_id || label || ikm. Raises nothing."""
    return kdf.extract(salt, _VERSION + suite_id + label + ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """LabeledExpand (RFC 9180 4). Raises `ValueError` for a `length` HKDF cannot give (a programming error)."""
    return kdf.expand(prk, struct.pack(">H", length) + _VERSION + suite_id + label + info, length)


def derive_key_pair(ikm: bytes) -> tuple[bytes, bytes]:
    """DeriveKeyPair for X25519 (RFC 9180 7.1.3): used only to replay the RFC's ikmE."""
    prk = labeled_extract(_KEM_SUITE, b"", b"dkp_prk", ikm)
    private = labeled_expand(_KEM_SUITE, prk, b"sk", b"", 32)
    return private, curves.x25519_public(private)


def encap(recipient_public: bytes, ephemeral_private: bytes) -> tuple[bytes, bytes]:
    """DHKEM Encap with a given ephemeral key: returns (shared_secret, enc)."""
    enc = curves.x25519_public(ephemeral_private)
    dh = curves.x25519(ephemeral_private, recipient_public)
    prk = kdf.extract(b"", _EAE_PRK + dh)
    return kdf.expand(prk, _SHARED_SECRET + enc + recipient_public, 32), enc


def key_schedule(aead_id: int, shared_secret: bytes, info: bytes, mode: int = MODE_BASE,
                 psk: bytes = b"", psk_id: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """Returns (key, base_nonce, exporter_secret)."""
    suite_id = _suite_id(aead_id)
    context, secret = _context_and_secret(suite_id, shared_secret, info, mode, psk, psk_id)
    return (labeled_expand(suite_id, secret, b"key", context, 32),
            labeled_expand(suite_id, secret, b"base_nonce", context, 12),
            labeled_expand(suite_id, secret, b"exp", context, 32))


def _context_and_secret(suite_id: bytes, shared_secret: bytes, info: bytes, mode: int, psk: bytes,
                        psk_id: bytes) -> tuple[bytes, bytes]:
    if suite_id == _AES_SUITE_ID and not psk_id:
        psk_id_hash = _EMPTY_PSK_ID_HASH
    else:
        psk_id_hash = labeled_extract(suite_id, b"", b"psk_id_hash", psk_id)
    info_hash = labeled_extract(suite_id, b"", b"info_hash", info)
    secret = labeled_extract(suite_id, shared_secret, b"secret", psk)
    return bytes((mode,)) + psk_id_hash + info_hash, secret


def aead(aead_id: int, key: bytes) -> AESGCM | ChaCha20Poly1305:
    """cryptography's AEAD object for an HPKE AEAD id: AES-256-GCM, else ChaCha20-Poly1305. Raises nothing."""
    return AESGCM(key) if aead_id == AEAD_AES_256_GCM else ChaCha20Poly1305(key)


def seal_base(recipient_public: bytes, info: bytes, plaintext: bytes, *,
              ephemeral_private: bytes | None = None) -> bytes:
    """Single-shot base-mode seal with AES-256-GCM and empty AAD: returns enc || ciphertext.
    ephemeral_private is for test vectors only; production draws a fresh one per call.

    Raises `AuthenticationError` (E_AUTH) when the recipient key gives an all-zero shared secret.
    """
    shared, enc = encap(recipient_public, ephemeral_private or os.urandom(32))
    # KeySchedule (RFC 9180 5.1) for mode_base, empty psk and psk_id, with the constant
    # parts of every labeled input prebuilt: a wrap runs this with the GIL held. The exporter
    # secret is never used here, so only key and base_nonce are expanded.
    secret = kdf.extract(shared, _SECRET)
    context = _CONTEXT_PREFIX + kdf.extract(b"", _INFO_HASH + info)
    key = kdf.expand(secret, _KEY + context, 32)
    nonce = kdf.expand(secret, _BASE_NONCE + context, 12)
    return enc + AESGCM(key).encrypt(nonce, plaintext, b"")


_AES_SUITE_ID: Final = _suite_id(AEAD_AES_256_GCM)
_EMPTY_PSK_ID_HASH: Final = labeled_extract(_AES_SUITE_ID, b"", b"psk_id_hash", b"")
# LabeledExtract / LabeledExpand inputs up to their variable part (RFC 9180 4 and 5.1).
_EAE_PRK: Final = _VERSION + _KEM_SUITE + b"eae_prk"
_SHARED_SECRET: Final = struct.pack(">H", 32) + _VERSION + _KEM_SUITE + b"shared_secret"
_SECRET: Final = _VERSION + _AES_SUITE_ID + b"secret"
_INFO_HASH: Final = _VERSION + _AES_SUITE_ID + b"info_hash"
_CONTEXT_PREFIX: Final = bytes((MODE_BASE,)) + _EMPTY_PSK_ID_HASH
_KEY: Final = struct.pack(">H", 32) + _VERSION + _AES_SUITE_ID + b"key"
_BASE_NONCE: Final = struct.pack(">H", 12) + _VERSION + _AES_SUITE_ID + b"base_nonce"
