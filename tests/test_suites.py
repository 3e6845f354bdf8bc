"""hazmat.suites.AeadKey: the only AES-GCM / XChaCha20-Poly1305 caller."""

from __future__ import annotations

import pytest
from core_helpers import assert_opaque_auth, seed
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee import AuthenticationError, FormatError, Suite
from domvia_e2ee.hazmat.suites import AeadKey


def test_wire_identifiers_and_labels() -> None:
    assert (int(Suite.AES_256_GCM), int(Suite.XCHACHA20_POLY1305)) == (1, 2)
    assert (Suite.AES_256_GCM.label, Suite.XCHACHA20_POLY1305.label) == ("A256GCM", "XC20P")
    assert (Suite.AES_256_GCM.nonce_size, Suite.XCHACHA20_POLY1305.nonce_size) == (12, 24)
    assert Suite.from_wire(2) is Suite.XCHACHA20_POLY1305
    assert Suite.from_label("A256GCM") is Suite.AES_256_GCM


@pytest.mark.parametrize("value", [0, 3, 255])
def test_unknown_wire_suite(value: int) -> None:
    with pytest.raises(FormatError) as info:
        Suite.from_wire(value, "x.suite")
    assert info.value.field == "x.suite"


@pytest.mark.parametrize("label", ["", "A128GCM", "a256gcm", "XC20P ", 1, None, "AES_256_GCM"])
def test_unknown_label(label: object) -> None:
    with pytest.raises(FormatError) as info:
        Suite.from_label(label, "s")
    assert info.value.field == "s"


@pytest.mark.parametrize("suite", list(Suite))
@given(plaintext=st.binary(max_size=2000), aad=st.binary(max_size=100))
def test_round_trip(suite: Suite, plaintext: bytes, aad: bytes) -> None:
    key = AeadKey(suite, seed("k", suite))
    nonce = key.random_nonce()
    sealed = key.encrypt(nonce, plaintext, aad)
    assert len(sealed) == len(plaintext) + 16
    assert key.decrypt(nonce, sealed, aad) == plaintext


@pytest.mark.parametrize("suite", list(Suite))
def test_every_decryption_failure_is_the_same_opaque_error(suite: Suite) -> None:
    key = AeadKey(suite, seed("k"))
    nonce = bytes(suite.nonce_size)
    sealed = key.encrypt(nonce, b"plaintext", b"aad")
    other = AeadKey(suite, seed("other"))
    failures = [
        (key, nonce, sealed, b"aaD"),
        (key, nonce, sealed[:-1] + bytes((sealed[-1] ^ 1,)), b"aad"),
        (key, nonce, sealed[:15], b"aad"),
        (key, nonce, b"", b"aad"),
        (key, bytes(suite.nonce_size - 1), sealed, b"aad"),
        (key, bytes(suite.nonce_size + 1), sealed, b"aad"),
        (key, bytes(16), sealed, b"aad"),
        (key, b"", sealed, b"aad"),
        (other, nonce, sealed, b"aad"),
    ]
    for cipher, bad_nonce, data, aad in failures:
        with pytest.raises(AuthenticationError) as info:
            cipher.decrypt(bad_nonce, data, aad)
        assert_opaque_auth(info.value)


def test_aes_gcm_refuses_to_decrypt_under_a_nonce_of_another_size() -> None:
    """AESGCM accepts 8..128-byte nonces; a 16-byte nonce message made outside must not open."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = AESGCM(seed("k")).encrypt(bytes(16), b"x", b"")
    with pytest.raises(AuthenticationError):
        AeadKey(Suite.AES_256_GCM, seed("k")).decrypt(bytes(16), raw, b"")


@pytest.mark.parametrize("suite", list(Suite))
def test_encrypt_checks_the_nonce_size(suite: Suite) -> None:
    key = AeadKey(suite, seed("k"))
    for size in (0, 8, suite.nonce_size - 1, suite.nonce_size + 1, 16):
        with pytest.raises(ValueError):
            key.encrypt(bytes(size), b"x", b"")


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33])
def test_keys_are_32_bytes(size: int) -> None:
    with pytest.raises(ValueError):
        AeadKey(Suite.AES_256_GCM, bytes(size))


def test_random_nonces_have_the_suite_size_and_differ() -> None:
    for suite in Suite:
        key = AeadKey(suite, seed("k"))
        nonces = {key.random_nonce() for _ in range(64)}
        assert len(nonces) == 64 and {len(n) for n in nonces} == {suite.nonce_size}
