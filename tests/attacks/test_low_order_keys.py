"""Attack: low-order and non-canonical X25519 keys (and their Ed25519 counterparts).

Sources: Wycheproof's X25519 cases (../shared/vectors-external/wycheproof-x25519_test.json, flags
LowOrderPublic, ZeroSharedSecret, NonCanonicalPublic); the contributory-behaviour caveat of RFC 7748
section 6.1 and the all-zero check RFC 9180 section 7.1.4 requires of DHKEM(X25519); for Ed25519,
small-order points and non-canonical encodings (Chalkias, Garillot and Nikolaenko, "Taming the many
EdDSAs", SSR 2020). A server that publishes a low-order X25519 key as a member's identity makes every
key wrapped to that member decryptable by anyone, since the Diffie-Hellman output is zero; a low-order
HPKE `enc` does the same from the sender's side.

Why it fails here: PublicIdentity refuses non-canonical (u >= 2^255 - 19) and small-order X25519 keys
and invalid Ed25519 keys on import (E_BAD_KEY), so they never enter a directory, a roster or a
wrap; X-Wing's X25519 half is checked the same way. Below that, the exchange itself refuses an
all-zero result: wrapping to such a key and unwrapping a key whose `enc` is low order both fail,
even when the attacker completes the rest of HPKE correctly from the known zero secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domvia_e2ee import InvalidKeyError, PublicIdentity
from domvia_e2ee.encoding import b64encode
from domvia_e2ee.hazmat import curves, hpke, xwing
from domvia_e2ee.labels import INFO_WRAP
from domvia_e2ee.wrap import WrapKem, unwrap, wrap, wrap_info

from .scenario import ROOM, error_code, identity, room_key

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors-external" / "wycheproof-x25519_test.json"
REJECT_FLAGS = {"LowOrderPublic", "ZeroSharedSecret", "NonCanonicalPublic"}
# Small-order Ed25519 encodings (the eight torsion points, and non-canonical variants of two of them).
ED25519_SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


def _wycheproof() -> list[dict[str, Any]]:
    """Cases of the Wycheproof file, read in place; skips when ../shared/vectors-external is absent."""
    try:
        from conftest import load_external_vectors
    except ImportError:  # pragma: no cover - run without the suite's conftest
        if not VECTORS.is_file():
            pytest.skip(f"../shared/vectors-external not present: {VECTORS} is missing")
        data = json.loads(VECTORS.read_text(encoding="utf-8"))
    else:
        data = load_external_vectors("wycheproof-x25519_test.json")
    return [case for group in data["testGroups"] for case in group["tests"]]


def _bad_publics(flags: set[str] = REJECT_FLAGS) -> list[bytes]:
    cases = [c for c in _wycheproof() if flags & set(c["flags"])]
    assert len(cases) >= 30
    return sorted({bytes.fromhex(c["public"]) for c in cases})


def _zero_dh_publics() -> list[bytes]:
    """The keys whose exchange gives zero. The other non-canonical keys are refused on import only:
    X25519 masks their top bit or reduces them mod p, so their shared secrets are not predictable."""
    return _bad_publics({"LowOrderPublic", "ZeroSharedSecret"})


def _identity_json(x25519: bytes) -> bytes:
    good = identity("mallory").public
    return json.dumps({"v": 1, "id": "bob", "enc": {"kty": "OKP", "crv": "X25519", "x": b64encode(x25519)},
                       "sig": {"kty": "OKP", "crv": "Ed25519", "x": b64encode(good.ed25519)}}).encode()


def test_server_cannot_publish_a_low_order_identity_key() -> None:
    good = identity("mallory").public
    for public in _bad_publics():
        with pytest.raises(InvalidKeyError):
            PublicIdentity("bob", x25519=public, ed25519=good.ed25519)
        assert error_code(PublicIdentity.from_json, _identity_json(public)) == "E_BAD_KEY"


def test_low_order_x25519_half_of_an_xwing_key_is_refused() -> None:
    pq = identity("bob", post_quantum=True).public.xwing
    assert pq is not None
    for public in _bad_publics():
        spliced = pq[:xwing.MLKEM_PUBLIC_SIZE] + public
        assert error_code(xwing.public_key, spliced) == "E_BAD_KEY"


def test_wrapping_to_a_low_order_key_fails_below_the_import_check() -> None:
    """An identity object smuggled past the import check (as a buggy caller might build one)."""
    honest = identity("bob").public
    for public in _zero_dh_publics():
        smuggled = object.__new__(PublicIdentity)
        for slot in PublicIdentity.__slots__:
            object.__setattr__(smuggled, slot, getattr(honest, slot))
        object.__setattr__(smuggled, "x25519", public)
        assert error_code(wrap, room_key(2), smuggled, WrapKem.X25519) == "E_AUTH"


def _attacker_wrap(enc: bytes, recipient_public: bytes, info: bytes, secret: bytes) -> bytes:
    """HPKE base-mode seal completed honestly from the all-zero DH a low-order enc would give."""
    kem_suite = b"KEM" + (0x0020).to_bytes(2, "big")
    prk = hpke.labeled_extract(kem_suite, b"", b"eae_prk", bytes(32))
    shared = hpke.labeled_expand(kem_suite, prk, b"shared_secret", enc + recipient_public, 32)
    key, nonce, _ = hpke.key_schedule(hpke.AEAD_AES_256_GCM, shared, info)
    return enc + AESGCM(key).encrypt(nonce, secret, b"")


def test_unwrap_refuses_a_low_order_enc_even_with_a_correct_ciphertext() -> None:
    bob = identity("bob")
    key = room_key(2)
    info = wrap_info(INFO_WRAP, WrapKem.X25519, key.suite, ROOM, 2, key.key_id, "bob")
    for enc in _zero_dh_publics():
        wrapped = _attacker_wrap(enc, bob.public.x25519, info, bytes(key))
        assert error_code(unwrap, bob, wrapped, kem=WrapKem.X25519, suite=key.suite, room_id=ROOM, epoch=2,
                          key_id=key.key_id) == "E_AUTH"


def test_attacker_wrap_is_otherwise_correct() -> None:
    """Control: the same construction with an honest enc (and its real DH) unwraps, so what refuses
    the low-order enc above is the zero check, not a mistake in the construction."""
    bob = identity("bob")
    key = room_key(2)
    info = wrap_info(INFO_WRAP, WrapKem.X25519, key.suite, ROOM, 2, key.key_id, "bob")
    shared, enc = hpke.encap(bob.public.x25519, bytes(range(32)))
    hpke_key, nonce, _ = hpke.key_schedule(hpke.AEAD_AES_256_GCM, shared, info)
    wrapped = enc + AESGCM(hpke_key).encrypt(nonce, bytes(key), b"")
    assert unwrap(bob, wrapped, kem=WrapKem.X25519, suite=key.suite, room_id=ROOM, epoch=2,
                  key_id=key.key_id) == key


def test_twist_and_edge_case_keys_that_are_safe_are_accepted() -> None:
    """Refusing too much is a bug too: every Wycheproof key without a reject flag imports."""
    good = identity("mallory").public
    safe = [c for c in _wycheproof() if not REJECT_FLAGS & set(c["flags"])]
    for case in safe:
        PublicIdentity("bob", x25519=bytes.fromhex(case["public"]), ed25519=good.ed25519)
    assert len(safe) >= 264


@pytest.mark.parametrize("public", ED25519_SMALL_ORDER)
def test_small_order_and_non_canonical_ed25519_keys_are_refused(public: str) -> None:
    good = identity("mallory").public
    with pytest.raises(InvalidKeyError):
        PublicIdentity("bob", x25519=good.x25519, ed25519=bytes.fromhex(public))


def test_non_canonical_signature_scalar_is_refused() -> None:
    """S + L verifies under a lax verifier; a malleable signature must not pass here."""
    signer = identity("alice")
    message = b"domvia-e2ee/v1 message-sig" + b"payload"
    signature = signer.sign(message)
    order = 2**252 + 27742317777372353535851937790883648493
    s_plus_l = (int.from_bytes(signature[32:], "little") + order).to_bytes(32, "little")
    curves.verify(signer.public.ed25519, signature, message)
    assert error_code(curves.verify, signer.public.ed25519, signature[:32] + s_plus_l, message) == "E_AUTH"
