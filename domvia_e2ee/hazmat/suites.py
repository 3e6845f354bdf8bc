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
"""Bytes of every AEAD key."""
TAG_SIZE: Final = 16
"""Bytes of the authentication tag both suites append."""


class Suite(enum.IntEnum):
    """Wire identifiers of the AEAD suites (spec/suites.md)."""

    AES_256_GCM = 1
    XCHACHA20_POLY1305 = 2

    @property
    def label(self) -> str:
        """The suite's name in JSON forms: "A256GCM" or "XC20P"."""
        return _LABELS[self]

    @property
    def nonce_size(self) -> int:
        """Bytes of the suite's nonce: 12 for AES-256-GCM, 24 for XChaCha20-Poly1305."""
        return 12 if self is Suite.AES_256_GCM else 24

    @classmethod
    def from_wire(cls, value: int, field: str = "suite") -> Suite:
        """The suite of a wire identifier. Raises `FormatError` (E_FORMAT) naming `field` for an unknown one."""
        try:
            return cls(value)
        except ValueError:
            raise FormatError(field, f"unknown suite {value}") from None

    @classmethod
    def from_label(cls, label: object, field: str = "suite") -> Suite:
        """The suite of a JSON label. Raises `FormatError` (E_FORMAT) naming `field` for an unknown one."""
        for suite, name in _LABELS.items():
            if label == name:
                return suite
        raise FormatError(field, "unknown suite")


_LABELS: Final = {Suite.AES_256_GCM: "A256GCM", Suite.XCHACHA20_POLY1305: "XC20P"}
DEFAULT_SUITE: Final = Suite.AES_256_GCM


class AeadKey:
    """One key bound to one suite. Built once per key: building AESGCM per call doubles its cost.

    The constructor raises `ValueError` when `key` is not 32 bytes (a programming error).
    """

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
        """A fresh random nonce of the suite's size (os.urandom)."""
        return os.urandom(self.nonce_size)

    def encrypt_random(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Draws a random nonce and encrypts: (nonce, ciphertext). One call on the sealing hot path.

        Raises no DomviaError.
        """
        nonce = os.urandom(self.nonce_size)
        return nonce, self._encrypt(nonce, plaintext, aad)

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Hazardous: ciphertext || tag under a caller's nonce, which must never repeat for this key.

        Raises `ValueError` for a nonce of the wrong size (a programming error).
        """
        if len(nonce) != self.nonce_size:
            raise ValueError("wrong nonce size for suite")
        return self._encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """The plaintext, if the ciphertext authenticates under this key, nonce and aad.

        Any failure, including a wrong-sized nonce or a short ciphertext, is the same opaque error:
        `AuthenticationError` (E_AUTH).
        """
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
