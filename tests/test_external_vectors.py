"""Official external vectors through domvia's own layers: Wycheproof AES-GCM, XChaCha20-Poly1305,
HKDF-SHA256 and X25519, the XChaCha draft, and RFC 9180 HPKE.

Files are read in place from ../shared/vectors-external (conftest.external_vectors); each test
skips with the reason when they are absent. Every case is run and failures are collected, so
one failing case does not hide the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite as HpkeSuite

from domvia_e2ee import AuthenticationError, InvalidKeyError, PublicIdentity, Suite
from domvia_e2ee.encoding import b64encode
from domvia_e2ee.hazmat import curves, hpke, kdf
from domvia_e2ee.hazmat.suites import AeadKey

Loader = Callable[[str], Any]
X = bytes.fromhex
VALID_ED25519 = curves.SigningKey(bytes(32)).public


def _cases(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for group in data["testGroups"]:
        for case in group["tests"]:
            yield group, case


def _check_aead_case(suite: Suite, case: dict[str, Any]) -> str | None:
    """None when domvia's AeadKey agrees with the case, else a description of the difference."""
    key = AeadKey(suite, X(case["key"]))
    iv, aad, msg, sealed = X(case["iv"]), X(case["aad"]), X(case["msg"]), X(case["ct"] + case["tag"])
    if case["result"] == "valid":
        if key.encrypt(iv, msg, aad) != sealed:
            return "encrypt differs"
        if key.decrypt(iv, sealed, aad) != msg:
            return "decrypt differs"
        return None
    try:
        key.decrypt(iv, sealed, aad)
    except AuthenticationError as error:
        return None if error.__cause__ is None and error.__suppress_context__ else "error is not opaque"
    return "invalid case decrypted"


def test_wycheproof_aes_gcm_through_aead_key(external_vectors: Loader) -> None:
    data = external_vectors("wycheproof-aes_gcm_test.json")
    failures, ran = [], {"valid": 0, "invalid": 0}
    for group, case in _cases(data):
        if (group["keySize"], group["ivSize"], group["tagSize"]) != (256, 96, 128):
            continue
        ran[case["result"]] += 1
        problem = _check_aead_case(Suite.AES_256_GCM, case)
        if problem:
            failures.append((case["tcId"], problem))
    assert not failures
    assert ran["valid"] >= 39 and ran["invalid"] >= 27


def test_wycheproof_aes_gcm_cases_outside_the_suite_are_refused(external_vectors: Loader) -> None:
    """128/192-bit keys cannot be built; IVs other than 96 bits never encrypt nor decrypt."""
    data = external_vectors("wycheproof-aes_gcm_test.json")
    refused = 0
    for group, case in _cases(data):
        if group["keySize"] != 256:
            with pytest.raises(ValueError):
                AeadKey(Suite.AES_256_GCM, X(case["key"]))
            refused += 1
        elif group["ivSize"] != 96:
            key = AeadKey(Suite.AES_256_GCM, X(case["key"]))
            with pytest.raises(ValueError):
                key.encrypt(X(case["iv"]), X(case["msg"]), X(case["aad"]))
            with pytest.raises(AuthenticationError):
                key.decrypt(X(case["iv"]), X(case["ct"] + case["tag"]), X(case["aad"]))
            refused += 1
    assert refused > 100


def test_wycheproof_xchacha20_poly1305_through_aead_key(external_vectors: Loader) -> None:
    data = external_vectors("wycheproof-xchacha20_poly1305_test.json")
    failures, ran = [], {"valid": 0, "invalid": 0}
    for group, case in _cases(data):
        if group["ivSize"] != 192:
            key = AeadKey(Suite.XCHACHA20_POLY1305, X(case["key"]))
            with pytest.raises(AuthenticationError):
                key.decrypt(X(case["iv"]), X(case["ct"] + case["tag"]), X(case["aad"]))
            with pytest.raises(ValueError):
                key.encrypt(X(case["iv"]), X(case["msg"]), X(case["aad"]))
            continue
        ran[case["result"]] += 1
        problem = _check_aead_case(Suite.XCHACHA20_POLY1305, case)
        if problem:
            failures.append((case["tcId"], problem))
    assert not failures
    assert ran == {"valid": 246, "invalid": 60}


def test_xchacha_draft_vector_through_aead_key(external_vectors: Loader) -> None:
    data = external_vectors("xchacha20-poly1305-draft-irtf-cfrg-xchacha-03.json")
    vectors = data["aead_xchacha20_poly1305"]
    assert vectors
    for vector in vectors:
        key = AeadKey(Suite.XCHACHA20_POLY1305, X(vector["key"]))
        sealed = X(vector["ciphertext"] + vector["tag"])
        assert key.encrypt(X(vector["nonce"]), X(vector["plaintext"]), X(vector["aad"])) == sealed
        assert key.decrypt(X(vector["nonce"]), sealed, X(vector["aad"])) == X(vector["plaintext"])
        with pytest.raises(AuthenticationError):
            key.decrypt(X(vector["nonce"]), sealed, X(vector["aad"]) + b"\x00")


def test_wycheproof_hkdf_sha256_through_kdf(external_vectors: Loader) -> None:
    data = external_vectors("wycheproof-hkdf_sha256_test.json")
    failures, ran = [], {"valid": 0, "invalid": 0}
    for _, case in _cases(data):
        ran[case["result"]] += 1
        prk = kdf.extract(X(case["salt"]), X(case["ikm"]))
        if case["result"] == "valid":
            if kdf.expand(prk, X(case["info"]), case["size"]) != X(case["okm"]):
                failures.append(case["tcId"])
            continue
        try:
            kdf.expand(prk, X(case["info"]), case["size"])
            failures.append(case["tcId"])
        except ValueError:
            pass
    assert not failures
    assert ran == {"valid": 83, "invalid": 3}


# -- X25519 ----------------------------------------------------------------------------------

REJECT_FLAGS = {"LowOrderPublic", "ZeroSharedSecret", "NonCanonicalPublic"}


def _jwk_identity(public: bytes) -> bytes:
    return (b'{"v":1,"id":"p","enc":{"kty":"OKP","crv":"X25519","x":"' + b64encode(public).encode()
            + b'"},"sig":{"kty":"OKP","crv":"Ed25519","x":"' + b64encode(VALID_ED25519).encode() + b'"}}')


def test_wycheproof_x25519_public_keys_on_import(external_vectors: Loader) -> None:
    """Low-order, zero-shared-secret and non-canonical (u >= p) keys are refused on import;
    every other key, twist points included, is accepted and agrees on the shared secret."""
    data = external_vectors("wycheproof-x25519_test.json")
    failures, rejected, accepted = [], 0, 0
    for _, case in _cases(data):
        public = X(case["public"])
        must_reject = bool(REJECT_FLAGS & set(case["flags"]))
        if case["result"] == "valid":
            assert not must_reject
        outcomes = set()
        for build in (lambda: PublicIdentity("p", x25519=public, ed25519=VALID_ED25519),
                      lambda: PublicIdentity.from_json(_jwk_identity(public))):
            try:
                build()
                outcomes.add("accepted")
            except InvalidKeyError:
                outcomes.add("rejected")
        if outcomes != {"rejected" if must_reject else "accepted"}:
            failures.append((case["tcId"], case["flags"], outcomes))
        elif must_reject:
            rejected += 1
        else:
            accepted += 1
            if curves.x25519(X(case["private"]), public) != X(case["shared"]):
                failures.append((case["tcId"], "shared secret"))
    assert not failures
    assert rejected >= 30 and accepted >= 264


def test_wycheproof_x25519_zero_shared_secret_is_an_authentication_error(external_vectors: Loader) -> None:
    """Below the import check, the exchange itself refuses an all-zero result."""
    data = external_vectors("wycheproof-x25519_test.json")
    zero = [case for _, case in _cases(data) if "ZeroSharedSecret" in case["flags"]]
    assert zero
    for case in zero:
        with pytest.raises(AuthenticationError):
            curves.x25519(X(case["private"]), X(case["public"]))


# -- RFC 9180 --------------------------------------------------------------------------------

ENCRYPTIONS_CHECKED = 8


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _entries(external_vectors: Loader) -> list[dict[str, Any]]:
    entries = external_vectors("rfc9180-x25519-sha256.json")
    assert len(entries) == 4
    assert {(e["mode"], e["aead_id"]) for e in entries} == {(0, 2), (1, 2), (0, 3), (1, 3)}
    return list(entries)


def test_rfc9180_derive_key_pair_and_encap(external_vectors: Loader) -> None:
    for entry in _entries(external_vectors):
        assert hpke.derive_key_pair(X(entry["ikmE"])) == (X(entry["skEm"]), X(entry["pkEm"]))
        assert hpke.derive_key_pair(X(entry["ikmR"])) == (X(entry["skRm"]), X(entry["pkRm"]))
        assert hpke.encap(X(entry["pkRm"]), X(entry["skEm"])) == (X(entry["shared_secret"]), X(entry["enc"]))


def test_rfc9180_key_schedule(external_vectors: Loader) -> None:
    for entry in _entries(external_vectors):
        schedule = hpke.key_schedule(entry["aead_id"], X(entry["shared_secret"]), X(entry["info"]), entry["mode"],
                                     X(entry.get("psk", "")), X(entry.get("psk_id", "")))
        assert schedule == (X(entry["key"]), X(entry["base_nonce"]), X(entry["exporter_secret"]))


def test_rfc9180_first_encryptions(external_vectors: Loader) -> None:
    for entry in _entries(external_vectors):
        cipher = hpke.aead(entry["aead_id"], X(entry["key"]))
        for sequence, encryption in enumerate(entry["encryptions"][:ENCRYPTIONS_CHECKED]):
            nonce = _xor(X(entry["base_nonce"]), sequence.to_bytes(12, "big"))
            assert nonce == X(encryption["nonce"])
            assert cipher.encrypt(nonce, X(encryption["pt"]), X(encryption["aad"])) == X(encryption["ct"])


def test_rfc9180_seal_base_with_the_vector_ephemeral_key(external_vectors: Loader) -> None:
    """seal_base is single-shot with empty AAD: sequence 0, the base nonce."""
    entry = next(e for e in _entries(external_vectors) if (e["mode"], e["aead_id"]) == (0, 2))
    plaintext = X(entry["encryptions"][0]["pt"])
    sealed = hpke.seal_base(X(entry["pkRm"]), X(entry["info"]), plaintext, ephemeral_private=X(entry["skEm"]))
    assert sealed[:32] == X(entry["enc"])
    assert sealed[32:] == AESGCM(X(entry["key"])).encrypt(X(entry["base_nonce"]), plaintext, b"")
    suite = HpkeSuite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
    recipient = X25519PrivateKey.from_private_bytes(X(entry["skRm"]))
    assert suite.decrypt(sealed, recipient, info=X(entry["info"])) == plaintext


def test_a_missing_vector_file_skips_with_the_reason() -> None:
    from conftest import load_external_vectors

    with pytest.raises(pytest.skip.Exception) as info:
        load_external_vectors("no-such-file.json")
    assert "../shared/vectors-external not present" in str(info.value)
