"""Ed25519 signatures that satisfy the verification equation and are refused anyway (spec/message.md#signature).

The generator (domvia_e2ee/_vectors/signatures.py) checks the equation with its own arithmetic; these tests
check that arithmetic against libsodium, that the reference refuses each case for its stated reason, and that
the published vectors carry every case.
"""

from __future__ import annotations

import pytest

from domvia_e2ee import conformance
from domvia_e2ee._vectors import VECTORS_DIR
from domvia_e2ee._vectors import signatures as sig
from domvia_e2ee._vectors.fixtures import seed
from domvia_e2ee.encoding import b64decode
from domvia_e2ee.errors import AuthenticationError, InvalidKeyError
from domvia_e2ee.hazmat import curves
from domvia_e2ee.labels import SIG_MESSAGE

SEED = seed("alice/ed25519")
MESSAGE = b"an edge-case message"
EDGES = sig.edge_signatures(SEED, MESSAGE)


def test_the_arithmetic_matches_libsodium() -> None:
    signer = curves.SigningKey(SEED)
    assert sig.sign(SEED, MESSAGE) == signer.sign(MESSAGE)
    assert sig.equation_holds(signer.public, signer.sign(MESSAGE), MESSAGE)
    assert not sig.equation_holds(signer.public, signer.sign(MESSAGE), MESSAGE + b"!")
    assert not sig.equation_holds(signer.public, sig.R_IDENTITY + bytes(32), MESSAGE)


@pytest.mark.parametrize("edge", [e for e in EDGES if not e.replaces_key], ids=lambda e: e.name)
def test_signature_edges_fail_verification_with_a_valid_key(edge: sig.EdgeSignature) -> None:
    assert sig.equation_holds(edge.public, edge.signature, MESSAGE)
    assert curves.check_ed25519_public(edge.public, "sig") == edge.public  # the genuine key: not the reason
    with pytest.raises(AuthenticationError):
        curves.verify(edge.public, edge.signature, MESSAGE)


@pytest.mark.parametrize("edge", [e for e in EDGES if e.replaces_key], ids=lambda e: e.name)
def test_key_edges_fail_key_validation(edge: sig.EdgeSignature) -> None:
    assert sig.equation_holds(edge.public, edge.signature, MESSAGE)
    with pytest.raises(InvalidKeyError):
        curves.check_ed25519_public(edge.public, "sig")


def test_libsodium_verify_alone_accepts_a_mixed_order_key() -> None:
    """Why a key must pass identity validation before it verifies anything: libsodium's verify rejects a
    small-order key but not one outside the prime-order subgroup."""
    mixed = next(e for e in EDGES if e.name == "a-mixed-order")
    curves.verify(mixed.public, mixed.signature, MESSAGE)
    with pytest.raises(InvalidKeyError):
        curves.check_ed25519_public(mixed.public, "sig")


def test_signed_bytes_may_depend_on_the_key() -> None:
    seen: list[bytes] = []

    def signed(public: bytes) -> bytes:
        seen.append(public)
        return MESSAGE + public

    for edge in sig.edge_signatures(SEED, signed):
        assert sig.equation_holds(edge.public, edge.signature, MESSAGE + edge.public)
    assert {e.public for e in EDGES} <= set(seen)


def test_the_message_vectors_carry_every_edge_case() -> None:
    cases = {c["id"]: c for c in conformance.load_cases_file(VECTORS_DIR / "message.json")}
    for edge in EDGES:
        case = cases[f"msg-signature-{edge.name}"]
        assert case["error"] == edge.code
        assert case["reject"] == ("MR-ED25519-INVALID" if edge.replaces_key else "MR-MSG-SIGNATURE")
        data = bytes.fromhex(case["input"]["binary"])
        key = b64decode(case["input"]["sender"]["sig"]["x"], "x", size=32)
        assert sig.equation_holds(key, data[-64:], SIG_MESSAGE + data[:-64]), case["id"]
