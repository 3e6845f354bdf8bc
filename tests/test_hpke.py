"""hazmat.hpke: every seal_base output opens with cryptography's independent RFC 9180 HPKE."""

from __future__ import annotations

import pytest
from core_helpers import seed
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite as HpkeSuite
from hypothesis import given, settings
from hypothesis import strategies as st

from domvia_e2ee import AuthenticationError
from domvia_e2ee.hazmat import curves, hpke

SUITE = HpkeSuite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
keys32 = st.binary(min_size=32, max_size=32)


@settings(max_examples=100)
@given(recipient=keys32, info=st.binary(max_size=300), plaintext=st.binary(max_size=2000),
       ephemeral=st.one_of(st.none(), keys32))
def test_seal_base_opens_with_cryptography(recipient: bytes, info: bytes, plaintext: bytes,
                                           ephemeral: bytes | None) -> None:
    private = X25519PrivateKey.from_private_bytes(recipient)
    sealed = hpke.seal_base(curves.x25519_public(recipient), info, plaintext, ephemeral_private=ephemeral)
    assert len(sealed) == hpke.ENC_SIZE + len(plaintext) + 16
    assert SUITE.decrypt(sealed, private, info=info) == plaintext
    with pytest.raises(InvalidTag):
        SUITE.decrypt(sealed, private, info=info + b"x")


def test_seal_base_is_randomised() -> None:
    public = curves.x25519_public(seed("r"))
    first, second = (hpke.seal_base(public, b"info", b"secret") for _ in range(2))
    assert first[:32] != second[:32] and first[32:] != second[32:]


def test_seal_base_with_a_fixed_ephemeral_key_is_deterministic() -> None:
    public = curves.x25519_public(seed("r"))
    one = hpke.seal_base(public, b"info", b"secret", ephemeral_private=seed("e"))
    assert one == hpke.seal_base(public, b"info", b"secret", ephemeral_private=seed("e"))
    assert one[:32] == curves.x25519_public(seed("e"))


def test_seal_base_matches_the_key_schedule() -> None:
    """enc || AES-256-GCM(key, base_nonce, plaintext, aad="") with the schedule's key and nonce."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    recipient = curves.x25519_public(seed("r"))
    shared, enc = hpke.encap(recipient, seed("e"))
    key, nonce, _ = hpke.key_schedule(hpke.AEAD_AES_256_GCM, shared, b"info")
    assert hpke.seal_base(recipient, b"info", b"pt", ephemeral_private=seed("e")) == enc + AESGCM(key).encrypt(
        nonce, b"pt", b"")


def test_sealing_to_a_small_order_point_fails() -> None:
    with pytest.raises(AuthenticationError):
        hpke.seal_base(bytes(32), b"info", b"secret")
    with pytest.raises(AuthenticationError):
        hpke.seal_base((1).to_bytes(32, "little"), b"info", b"secret")
