"""Identities: JWK export/import, key validation, fingerprints and safety numbers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from core_helpers import fixed_identity, ids, seed
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium

from domvia_e2ee import FormatError, Identity, InvalidKeyError, PublicIdentity
from domvia_e2ee.encoding import b64encode
from domvia_e2ee.hazmat import xwing

ALICE = fixed_identity("alice")
ALICE_PQ = fixed_identity("alice", post_quantum=True)


@settings(max_examples=30)
@given(participant_id=ids, post_quantum=st.booleans(), x=st.binary(min_size=32, max_size=32),
       e=st.binary(min_size=32, max_size=32))
def test_jwk_round_trip(participant_id: str, post_quantum: bool, x: bytes, e: bytes) -> None:
    identity = Identity(participant_id, x25519_private=x, ed25519_seed=e, xwing_seed=seed(x) if post_quantum else None)
    public = identity.public
    again = PublicIdentity.from_json(public.to_json())
    assert again == public
    assert (again.participant_id, again.x25519, again.ed25519, again.xwing, again.fingerprint) == (
        public.participant_id, public.x25519, public.ed25519, public.xwing, public.fingerprint)
    assert again.to_json() == public.to_json()
    private = Identity.from_private_dict(identity.to_plaintext_private_dict())
    assert private.public == public
    assert private.sign(b"m") == identity.sign(b"m")


def test_jwk_shape() -> None:
    obj = json.loads(ALICE_PQ.public.to_json())
    assert obj["v"] == 1 and obj["id"] == "alice"
    assert obj["enc"] == {"kty": "OKP", "crv": "X25519", "x": b64encode(ALICE.public.x25519)}
    assert obj["sig"] == {"kty": "OKP", "crv": "Ed25519", "x": b64encode(ALICE.public.ed25519)}
    assert obj["pq"]["kem"] == "MLKEM768-X25519" and len(obj["pq"]["pub"]) == 1622
    assert "pq" not in json.loads(ALICE.public.to_json())


def test_generate_makes_distinct_identities() -> None:
    one, two = Identity.generate("p"), Identity.generate("p")
    assert one.public != two.public
    assert Identity.generate("q", post_quantum=True).public.xwing is not None


# -- fingerprints and safety numbers ----------------------------------------------------------


def _reference_fingerprint(public: PublicIdentity) -> bytes:
    pq = public.xwing or b""
    data = (b"domvia-e2ee/v1 fingerprint" + bytes((len(public.participant_id),)) + public.participant_id.encode()
            + public.x25519 + public.ed25519 + len(pq).to_bytes(2, "big") + pq)
    return hashlib.sha256(data).digest()


def test_fingerprint_is_as_specified_and_stable() -> None:
    for identity in (ALICE, ALICE_PQ):
        public = identity.public
        assert public.fingerprint == _reference_fingerprint(public)
        assert PublicIdentity.from_json(public.to_json()).fingerprint == public.fingerprint
        assert fixed_identity("alice", post_quantum=identity.public.xwing is not None).public.fingerprint == (
            public.fingerprint)


def test_fingerprint_known_answer() -> None:
    """Pinned: a change here changes every safety number users have compared."""
    identity = Identity("alice", x25519_private=bytes(range(32)), ed25519_seed=bytes(range(32, 64)))
    assert identity.public.fingerprint == _reference_fingerprint(identity.public)
    assert identity.public.safety_number == _reference_safety_number(identity.public.fingerprint)
    assert identity.public.x25519.hex() == "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"
    assert identity.public.fingerprint.hex() == "a98dc4b101e00bb8183e85f9bcc1c53ba309fd4cb3c34fba27ee58efbfd42922"
    assert identity.public.safety_number == "50849 88510 47525 11340 28103 23668"


def _reference_safety_number(fingerprint: bytes) -> str:
    groups = [int.from_bytes(fingerprint[i:i + 5], "big") % 100000 for i in range(0, 30, 5)]
    return " ".join(f"{g:05d}" for g in groups)


def test_safety_number_shape() -> None:
    number = ALICE.public.safety_number
    groups = number.split(" ")
    assert len(groups) == 6 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert number == _reference_safety_number(ALICE.public.fingerprint)
    assert number != fixed_identity("bob").public.safety_number


def test_fingerprint_binds_id_and_every_key() -> None:
    base = Identity("alice", x25519_private=seed(1), ed25519_seed=seed(2)).public
    variants = [Identity("alice2", x25519_private=seed(1), ed25519_seed=seed(2)).public,
                Identity("alice", x25519_private=seed(3), ed25519_seed=seed(2)).public,
                Identity("alice", x25519_private=seed(1), ed25519_seed=seed(3)).public,
                Identity("alice", x25519_private=seed(1), ed25519_seed=seed(2), xwing_seed=seed(4)).public]
    assert len({base.fingerprint, *(v.fingerprint for v in variants)}) == 5
    assert all(base != v for v in variants)
    assert hash(base) == hash(Identity("alice", x25519_private=seed(1), ed25519_seed=seed(2)).public)


# -- key validation -----------------------------------------------------------------------------

SMALL_ORDER_ED25519 = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]
NON_CANONICAL_ED25519 = [
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p + 1
    "0100000000000000000000000000000000000000000000000000000000000080",  # x = -0
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
]


def _mixed_order() -> bytes:
    """A valid key plus a point of order 8: on the curve, canonical, but not in the prime-order group."""
    return bytes(sodium.crypto_core_ed25519_add(ALICE.public.ed25519, bytes.fromhex(SMALL_ORDER_ED25519[4])))


def _not_on_curve() -> bytes:
    for y in range(2, 100):
        candidate = y.to_bytes(32, "little")
        if not sodium.crypto_core_ed25519_is_valid_point(candidate):
            try:
                sodium.crypto_core_ed25519_add(candidate, ALICE.public.ed25519)
            except Exception:  # libsodium refuses a point it cannot decode
                return candidate
    raise AssertionError("no off-curve encoding found")


@pytest.mark.parametrize("public", [bytes.fromhex(h) for h in SMALL_ORDER_ED25519 + NON_CANONICAL_ED25519]
                         + [_mixed_order(), _not_on_curve(), bytes(31), bytes(33)])
def test_invalid_ed25519_keys_are_refused(public: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        PublicIdentity("p", x25519=ALICE.public.x25519, ed25519=public)
    if len(public) == 32:
        obj = ALICE.public.to_dict()
        obj["sig"]["x"] = b64encode(public)
        with pytest.raises(InvalidKeyError):
            PublicIdentity.from_dict(obj)


@pytest.mark.parametrize("public", [bytes(32), (1).to_bytes(32, "little"), (2**255 - 19).to_bytes(32, "little"),
                                    (2**255 - 19 + 1).to_bytes(32, "little"), b"\xff" * 32,
                                    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")])
def test_invalid_x25519_keys_are_refused(public: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        PublicIdentity("p", x25519=public, ed25519=ALICE.public.ed25519)


def test_xwing_key_validation() -> None:
    good = ALICE_PQ.public.xwing
    assert good is not None and len(good) == xwing.PUBLIC_KEY_SIZE
    with pytest.raises(FormatError):
        PublicIdentity("p", x25519=ALICE.public.x25519, ed25519=ALICE.public.ed25519, xwing=good[:-1])
    with pytest.raises(InvalidKeyError):  # a low-order X25519 half
        PublicIdentity("p", x25519=ALICE.public.x25519, ed25519=ALICE.public.ed25519,
                       xwing=good[:xwing.MLKEM_PUBLIC_SIZE] + bytes(32))
    with pytest.raises(InvalidKeyError):  # an ML-KEM half whose coefficients are not reduced mod q
        PublicIdentity("p", x25519=ALICE.public.x25519, ed25519=ALICE.public.ed25519,
                       xwing=b"\xff" * xwing.MLKEM_PUBLIC_SIZE + good[xwing.MLKEM_PUBLIC_SIZE:])


# -- strict JSON ---------------------------------------------------------------------------------


def _fail(obj: dict[str, Any] | str, field: str) -> None:
    with pytest.raises(FormatError) as info:
        if isinstance(obj, str):
            PublicIdentity.from_json(obj)
        else:
            PublicIdentity.from_dict(obj)
    assert info.value.field == field, info.value


def _obj(**changes: Any) -> dict[str, Any]:
    obj = ALICE_PQ.public.to_dict()
    obj.update(changes)
    return obj


def test_strict_identity_fields() -> None:
    _fail(_obj(v=2), "v")
    _fail(_obj(v="1"), "v")
    _fail(_obj(id="a b"), "id")
    _fail(_obj(extra=1), "extra")
    for field in ("v", "id", "enc", "sig"):
        obj = _obj()
        del obj[field]
        _fail(obj, field)
    _fail(_obj(enc="x"), "enc")
    _fail(_obj(enc={"kty": "OKP", "crv": "Ed25519", "x": b64encode(ALICE.public.x25519)}), "enc")
    _fail(_obj(enc={"kty": "EC", "crv": "X25519", "x": b64encode(ALICE.public.x25519)}), "enc")
    _fail(_obj(enc={"kty": "OKP", "crv": "X25519", "x": b64encode(ALICE.public.x25519), "d": "AA"}), "d")
    _fail(_obj(enc={"kty": "OKP", "crv": "X25519"}), "x")
    _fail(_obj(enc={"kty": "OKP", "crv": "X25519", "x": b64encode(ALICE.public.x25519[:31])}), "enc.x")
    _fail(_obj(enc={"kty": "OKP", "crv": "X25519", "x": b64encode(ALICE.public.x25519) + "="}), "enc.x")
    _fail(_obj(sig={"kty": "OKP", "crv": "Ed25519", "x": b64encode(ALICE.public.ed25519)[:-1] + "h"}), "sig.x")
    _fail(_obj(pq="x"), "pq")
    _fail(_obj(pq={"kem": "Kyber", "pub": "AA"}), "pq.kem")
    _fail(_obj(pq={"kem": "MLKEM768-X25519", "pub": "AAAA"}), "pq.pub")
    _fail(_obj(pq={"kem": "MLKEM768-X25519"}), "pub")


def test_strict_identity_json_text() -> None:
    text = ALICE.public.to_json()
    _fail(text[:-1] + ',"id":"bob"}', "id")
    _fail("[]", "identity")
    _fail("{" + " " * 9000 + "}", "identity")
    _fail("not json", "identity")


def test_strict_private_dict() -> None:
    obj = ALICE_PQ.to_plaintext_private_dict()
    for field, value in (("x25519", "AA"), ("ed25519", b64encode(bytes(31))), ("xwing", 5), ("v", 9)):
        with pytest.raises(FormatError) as info:
            Identity.from_private_dict(dict(obj, **{field: value}))
        assert info.value.field == field
    with pytest.raises(FormatError) as info:
        Identity.from_private_dict(dict(obj, extra=1))
    assert info.value.field == "extra"
    with pytest.raises(ValueError):
        Identity("p", x25519_private=bytes(31), ed25519_seed=bytes(32))
