"""Floors: the raw primitives domvia-e2ee is built from, called as directly as Python allows.

Every ratio in the results table divides by a floor measured in the same run.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from nacl import bindings as sodium

from benchmarks._shared import tag

pytestmark = pytest.mark.cpu_timed  # single-threaded: timed in CPU time by python -m benchmarks

AAD = os.urandom(120)  # about the size of a sealed message's header
SIZES = {"200": 200, "64k": 65536}
LABELS = {"200": "200 B", "64k": "64 KiB"}


@pytest.mark.parametrize("size", SIZES)
def test_aesgcm(benchmark, size):
    """AES-256-GCM encrypt + decrypt, key object reused, random 96-bit nonce per message."""
    aes = AESGCM(AESGCM.generate_key(256))
    plaintext = os.urandom(SIZES[size])
    tag(benchmark, f"floor.aesgcm.{size}", f"AESGCM enc+dec {LABELS[size]} (cryptography)", section=f"messages-{size}", nbytes=SIZES[size])

    def run():
        nonce = os.urandom(12)
        return aes.decrypt(nonce, aes.encrypt(nonce, plaintext, AAD), AAD)

    assert benchmark(run) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_xchacha(benchmark, size):
    """XChaCha20-Poly1305 (libsodium via PyNaCl) encrypt + decrypt, random 192-bit nonce."""
    key = os.urandom(32)
    plaintext = os.urandom(SIZES[size])
    encrypt = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt
    decrypt = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt
    tag(benchmark, f"floor.xchacha.{size}", f"XChaCha20-Poly1305 enc+dec {LABELS[size]} (PyNaCl)", section=f"messages-{size}", nbytes=SIZES[size])

    def run():
        nonce = os.urandom(24)
        return decrypt(encrypt(plaintext, AAD, nonce, key), AAD, nonce, key)

    assert benchmark(run) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_ed25519_openssl(benchmark, size):
    """Sign + verify over what a sealed message signs: about 150 B of header, nonce and tag more."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    signed = os.urandom(SIZES[size] + 150)
    tag(benchmark, f"floor.ed25519.openssl.{size}", f"Ed25519 sign+verify {LABELS[size]} + 150 B (OpenSSL, cryptography)", section=f"messages-{size}")
    benchmark(lambda: public.verify(private.sign(signed), signed))


@pytest.mark.parametrize("size", SIZES)
def test_ed25519_libsodium(benchmark, size):
    public, expanded = sodium.crypto_sign_seed_keypair(os.urandom(32))
    signed = os.urandom(SIZES[size] + 150)
    tag(benchmark, f"floor.ed25519.libsodium.{size}", f"Ed25519 sign+verify {LABELS[size]} + 150 B (libsodium, PyNaCl)", section=f"messages-{size}")
    benchmark(lambda: sodium.crypto_sign_open(sodium.crypto_sign(signed, expanded), public))


def test_ed25519_verify_openssl(benchmark):
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    body = os.urandom(200)
    signature = private.sign(body)
    tag(benchmark, "floor.ed25519-verify.openssl", "Ed25519 verify (OpenSSL, cryptography)", section="join")
    benchmark(public.verify, signature, body)


def test_ed25519_verify_libsodium(benchmark):
    public, expanded = sodium.crypto_sign_seed_keypair(os.urandom(32))
    signed = sodium.crypto_sign(os.urandom(200), expanded)
    tag(benchmark, "floor.ed25519-verify.libsodium", "Ed25519 verify (libsodium, PyNaCl)", section="join")
    benchmark(sodium.crypto_sign_open, signed, public)


def test_x25519_libsodium(benchmark):
    """What wrapping costs at least per member: one ephemeral key pair and one exchange."""
    peer = sodium.crypto_scalarmult_base(os.urandom(32))
    tag(benchmark, "floor.x25519.libsodium", "X25519 keygen+exchange (libsodium, PyNaCl)", section="rotation")

    def run():
        ephemeral = os.urandom(32)
        return sodium.crypto_scalarmult_base(ephemeral), sodium.crypto_scalarmult(ephemeral, peer)

    benchmark(run)


def test_x25519_openssl(benchmark):
    peer = X25519PrivateKey.generate().public_key()
    tag(benchmark, "floor.x25519.openssl", "X25519 keygen+exchange (OpenSSL, cryptography)", section="rotation")

    def run():
        ephemeral = X25519PrivateKey.generate()
        return ephemeral.public_key().public_bytes_raw(), ephemeral.exchange(peer)

    benchmark(run)


_HPKE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_INFO = b"domvia-e2ee/v1 wrap" + os.urandom(60)


def test_hpke_wrap(benchmark):
    """One raw RFC 9180 base-mode seal of a 32-byte key (cryptography's hpke.Suite)."""
    recipient = X25519PrivateKey.generate().public_key()
    secret = os.urandom(32)
    tag(benchmark, "floor.hpke-wrap", "HPKE wrap 32 B (cryptography hpke.Suite)", section="rotation")
    benchmark(_HPKE.encrypt, secret, recipient, info=_INFO)


def test_hpke_unwrap(benchmark):
    private = X25519PrivateKey.generate()
    wrapped = _HPKE.encrypt(os.urandom(32), private.public_key(), info=_INFO)
    tag(benchmark, "floor.hpke-unwrap", "HPKE unwrap 32 B (cryptography hpke.Suite)", section="join")
    benchmark(_HPKE.decrypt, wrapped, private, info=_INFO)
