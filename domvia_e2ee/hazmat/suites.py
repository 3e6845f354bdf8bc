"""The AEAD suites. The only module that calls AES-GCM or XChaCha20-Poly1305.

Hazardous: callers supply nonces. The recipes in domvia_e2ee draw them at random.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl import bindings as sodium
from nacl.exceptions import CryptoError

from ..errors import AuthenticationError, FormatError

KEY_SIZE: Final = 32
TAG_SIZE: Final = 16


class Suite(enum.IntEnum):
    """Wire identifiers of the AEAD suites (spec/suites.md)."""

    AES_256_GCM = 1
    XCHACHA20_POLY1305 = 2

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def nonce_size(self) -> int:
        return 12 if self is Suite.AES_256_GCM else 24

    @classmethod
    def from_wire(cls, value: int, field: str = "suite") -> Suite:
        try:
            return cls(value)
        except ValueError:
            raise FormatError(field, f"unknown suite {value}") from None

    @classmethod
    def from_label(cls, label: object, field: str = "suite") -> Suite:
        for suite, name in _LABELS.items():
            if label == name:
                return suite
        raise FormatError(field, "unknown suite")


_LABELS: Final = {Suite.AES_256_GCM: "A256GCM", Suite.XCHACHA20_POLY1305: "XC20P"}
DEFAULT_SUITE: Final = Suite.AES_256_GCM


class AeadKey:
    """One key bound to one suite. Built once per key: building AESGCM per call doubles its cost."""

    __slots__ = ("suite", "nonce_size", "_key", "_encrypt", "_decrypt")

    def __init__(self, suite: Suite, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("AEAD keys are 32 bytes")
        self.suite = suite
        self.nonce_size = suite.nonce_size
        self._key = bytes(key)
        if suite is Suite.AES_256_GCM:
            aes = AESGCM(self._key)
            self._encrypt: Callable[[bytes, bytes, bytes], bytes] = aes.encrypt
            self._decrypt: Callable[[bytes, bytes, bytes], bytes] = aes.decrypt
        else:
            self._encrypt = self._xchacha_encrypt
            self._decrypt = self._xchacha_decrypt

    def __repr__(self) -> str:
        return f"AeadKey(suite={self.suite.label}, key=<redacted>)"

    def random_nonce(self) -> bytes:
        return os.urandom(self.nonce_size)

    def encrypt_random(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Draws a random nonce and encrypts: (nonce, ciphertext). One call on the sealing hot path."""
        nonce = os.urandom(self.nonce_size)
        return nonce, self._encrypt(nonce, plaintext, aad)

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        if len(nonce) != self.nonce_size:
            raise ValueError("wrong nonce size for suite")
        return self._encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Any failure, including a wrong-sized nonce or a short ciphertext, is the same opaque error."""
        # AESGCM itself takes 8- to 128-byte nonces: only the suite's size is a valid message.
        if len(nonce) != self.nonce_size:
            raise AuthenticationError()
        try:
            return self._decrypt(nonce, ciphertext, aad)
        except (InvalidTag, CryptoError, ValueError, TypeError):
            raise AuthenticationError() from None

    def _xchacha_encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, self._key)

    def _xchacha_decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, self._key)
