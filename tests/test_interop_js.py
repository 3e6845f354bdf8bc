"""Round trips between this Python library and the independent JavaScript implementation in interop/js.

The JavaScript side is driven through `node interop/js/cli.mjs batch` (one process per test, JSON on stdin).
The Python side uses only the public API: RoomKey, seal/open, seal_unsigned/open_unsigned, Identity,
PublicIdentity, KeyRing and Room.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import domvia_e2ee
from domvia_e2ee import (
    DomviaError,
    Identity,
    KeyRing,
    PublicIdentity,
    Room,
    RoomKey,
    Suite,
    WrapKem,
    open as open_signed,
    open_unsigned,
    seal,
    seal_unsigned,
)

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "interop" / "js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not on PATH: the JavaScript implementation cannot run"),
    pytest.mark.skipif(
        not (JS_DIR / "node_modules").is_dir(),
        reason="interop/js/node_modules is missing: run `cd interop/js && npm ci` first",
    ),
]

SUITES = {"A256GCM": Suite.AES_256_GCM, "XC20P": Suite.XCHACHA20_POLY1305}


def js(command: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run one JavaScript CLI command; return its JSON result (errors come back as {"error": code})."""
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(JS_DIR / "cli.mjs"), command],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.stdout, f"node printed nothing (exit {proc.returncode}): {proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def js_batch(requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    out = js("batch", {"requests": [{"command": c, "input": i} for c, i in requests]})
    assert "responses" in out, out
    responses: list[dict[str, Any]] = out["responses"]
    return responses


def make_identity(participant_id: str, *, post_quantum: bool = False) -> tuple[Identity, dict[str, str]]:
    """A Python identity and the same private keys in the JS CLI's form (hex raw keys)."""
    raw = {"x25519": os.urandom(32), "ed25519": os.urandom(32)}
    if post_quantum:
        raw["xwing"] = os.urandom(32)
    identity = Identity(
        participant_id,
        x25519_private=raw["x25519"],
        ed25519_seed=raw["ed25519"],
        xwing_seed=raw.get("xwing"),
    )
    return identity, {"id": participant_id, **{k: v.hex() for k, v in raw.items()}}


def public_text(identity: Identity) -> str:
    return identity.public.to_json()


CASES = [(suite, signed, form) for suite in SUITES for signed in (True, False) for form in ("binary", "json")]


def case_id(case: tuple[str, bool, str]) -> str:
    suite, signed, form = case
    return f"{suite}-{'signed' if signed else 'unsigned'}-{form}"


# ------------------------------------------------------------------ identities


def test_identity_forms_agree() -> None:
    classic, classic_js = make_identity("alice")
    pq, pq_js = make_identity("user-1/device-a", post_quantum=True)
    responses = js_batch([("identity", classic_js), ("identity", pq_js)])
    for identity, response in zip((classic, pq), responses, strict=True):
        assert response["public"] == public_text(identity)
        assert response["fingerprint"] == identity.public.fingerprint.hex()
        assert response["safety_number"] == identity.public.safety_number
        assert PublicIdentity.from_json(response["public"]) == identity.public


# ------------------------------------------------------------------ sealed messages, both directions


def test_js_seals_python_opens() -> None:
    alice, alice_js = make_identity("alice")
    secret = os.urandom(32)
    requests = []
    for i, (suite, signed, _form) in enumerate(CASES):
        request: dict[str, Any] = {
            "secret": secret.hex(),
            "suite": suite,
            "room_id": "room-js",
            "epoch": 7,
            "content": f"message {i} from javascript".encode().hex(),
            "message_id": f"msg-{i}",
            "content_type": "text/plain",
            "padded": i % 4 != 3,
        }
        if signed:
            request["sender"] = alice_js
        else:
            request["sender_id"] = "bot:weather"
        requests.append(("seal", request))
    responses = js_batch(requests)
    for i, ((suite, signed, form), response) in enumerate(zip(CASES, responses, strict=True)):
        assert "error" not in response, response
        key = RoomKey(secret, room_id="room-js", epoch=7, suite=SUITES[suite])
        wire: bytes | str = bytes.fromhex(response["binary"]) if form == "binary" else response["json"]
        if signed:
            opened = open_signed(key, wire, sender=alice.public)
            with pytest.raises(DomviaError) as refused:
                open_unsigned(key, wire)
            assert refused.value.code == "E_POLICY"
        else:
            opened = open_unsigned(key, wire)
        assert opened.plaintext == f"message {i} from javascript".encode()
        assert opened.message_id == f"msg-{i}"
        assert opened.sender_id == ("alice" if signed else "bot:weather")
        assert opened.signed is signed
        # Both spellings name the same message.
        assert domvia_e2ee.SealedMessage.from_json(response["json"]).to_bytes() == bytes.fromhex(response["binary"])


def test_python_seals_js_opens() -> None:
    alice, _ = make_identity("alice")
    secret = os.urandom(32)
    requests = []
    for i, (suite, signed, form) in enumerate(CASES):
        key = RoomKey(secret, room_id="room-py", epoch=2, suite=SUITES[suite])
        content = f"message {i} from python".encode()
        if signed:
            message = seal(key, content, message_id=f"m{i}", sender=alice, pad=i % 4 != 3)
        else:
            message = seal_unsigned(key, content, message_id=f"m{i}", sender_id="bot", pad=i % 4 != 3)
        request: dict[str, Any] = {"secret": secret.hex(), "suite": suite, "room_id": "room-py", "epoch": 2}
        if form == "binary":
            request["binary"] = message.to_bytes().hex()
        else:
            request["json"] = message.to_json()
        if signed:
            request["sender"] = public_text(alice)
        requests.append(("open", request))
    # A tampered message and a signed message on the unsigned path are refused with the spec's codes.
    key = RoomKey(secret, room_id="room-py", epoch=2)
    tampered = bytearray(seal(key, b"x", message_id="t", sender=alice).to_bytes())
    tampered[-70] ^= 1
    requests.append(("open", {"secret": secret.hex(), "suite": "A256GCM", "room_id": "room-py", "epoch": 2,
                              "binary": tampered.hex(), "sender": public_text(alice)}))
    signed_message = seal(key, b"y", message_id="s", sender=alice).to_bytes()
    requests.append(("open", {"secret": secret.hex(), "suite": "A256GCM", "room_id": "room-py", "epoch": 2,
                              "binary": signed_message.hex()}))
    responses = js_batch(requests)
    for i, ((_suite, signed, _form), response) in enumerate(zip(CASES, responses[: len(CASES)], strict=True)):
        assert "error" not in response, response
        assert bytes.fromhex(response["content"]) == f"message {i} from python".encode()
        assert response["message_id"] == f"m{i}"
        assert response["signed"] is signed
    assert responses[-2]["error"] == "E_AUTH"
    assert responses[-1]["error"] == "E_POLICY"


# ------------------------------------------------------------------ bundles built by Python, JS key ring


def _python_room(kem: WrapKem) -> dict[str, Any]:
    post_quantum = kem == WrapKem.MLKEM768_X25519
    alice, _ = make_identity("alice", post_quantum=post_quantum)
    bob, bob_js = make_identity("bob", post_quantum=post_quantum)
    carol, _ = make_identity("carol", post_quantum=post_quantum)
    ring = KeyRing(alice)
    for other in (bob, carol):
        ring.add_identity(other.public)
    room, first = Room.create(ring, "room-interop", [bob.public, carol.public], kem=kem)
    m1 = ring.seal("room-interop", b"epoch one", message_id="m-1")
    second = room.remove(["carol"])
    m2 = ring.seal("room-interop", b"epoch two", message_id="m-2")
    return {"alice": alice, "bob": bob, "bob_js": bob_js, "carol": carol, "ring": ring,
            "first": first, "second": second, "m1": m1, "m2": m2}


@pytest.mark.parametrize("kem", [WrapKem.X25519, WrapKem.MLKEM768_X25519], ids=["classic", "xwing"])
def test_python_bundles_accepted_by_js_keyring(kem: WrapKem) -> None:
    r = _python_room(kem)
    alice, ring = r["alice"], r["ring"]
    steps: list[dict[str, Any]] = [
        {"accept": r["first"].bundle.to_bytes().hex()},
        {"open": {"binary": r["m1"].to_bytes().hex()}, "check_replay": True},
        {"accept": r["second"].bundle.slice_for("bob").to_bytes().hex()},
        # Epoch 2 came as a slice: its roster is unknown, so a signed message waits for the full bundle.
        {"accept": r["second"].bundle.to_bytes().hex()},
        {"open": {"json": r["m2"].to_json()}, "check_replay": True},
        {"seal": {"room_id": "room-interop", "content": b"bob answers".hex(), "message_id": "b-1"}},
    ]
    out = js("keyring", {
        "owner": r["bob_js"],
        "directory": [public_text(alice), public_text(r["carol"])],
        "admins": [{"room_id": "room-interop", "id": "alice"}],
        "steps": steps,
    })
    assert "error" not in out, out
    results = out["results"]
    assert results[0] == {"accepted": {"room_id": "room-interop", "epochs": [1], "kind": "bundle"}}
    assert bytes.fromhex(results[1]["opened"]["content"]) == b"epoch one"
    assert results[2] == {"accepted": {"room_id": "room-interop", "epochs": [2], "kind": "slice"}}
    assert results[3] == {"accepted": {"room_id": "room-interop", "epochs": [2], "kind": "roster"}}
    assert bytes.fromhex(results[4]["opened"]["content"]) == b"epoch two"
    assert [(h["epoch"], h["secret"]) for h in out["held"]] == [
        (e, bytes(ring.record("room-interop", e).key).hex()) for e in (1, 2)  # type: ignore[arg-type]
    ]
    # Bob's JS-sealed reply opens in alice's Python key ring.
    opened = ring.open(bytes.fromhex(results[5]["sealed"]["binary"]))
    assert (opened.plaintext, opened.sender_id, opened.epoch, opened.signed) == (b"bob answers", "bob", 2, True)


def test_python_bundle_refusals_in_js_keyring() -> None:
    r = _python_room(WrapKem.X25519)
    bundle = r["first"].bundle.to_bytes()
    tampered = bytearray(bundle)
    tampered[-3] ^= 1  # inside carol's wrapped key: the member list no longer hashes to the signed root
    base = {"owner": r["bob_js"], "directory": [public_text(r["alice"])],
            "admins": [{"room_id": "room-interop", "id": "alice"}]}
    assert js("keyring", {**base, "steps": [{"accept": tampered.hex()}]})["error"] == "E_AUTH"
    no_admin = {**base, "admins": []}
    assert js("keyring", {**no_admin, "steps": [{"accept": bundle.hex()}]})["error"] == "E_UNAUTHORIZED"
    replay = [{"accept": bundle.hex()}, {"accept": bundle.hex()}]
    assert js("keyring", {**base, "steps": replay})["error"] == "E_STALE"
    twice = [{"accept": bundle.hex()}] + [{"open": {"binary": r["m1"].to_bytes().hex()}, "check_replay": True}] * 2
    assert js("keyring", {**base, "steps": twice})["error"] == "E_REPLAY"


def test_python_history_accepted_by_js_keyring() -> None:
    alice, _ = make_identity("alice")
    bob, _ = make_identity("bob")
    dave, dave_js = make_identity("dave")
    ring = KeyRing(alice)
    ring.add_identity(bob.public)
    room, first = Room.create(ring, "room-h", [bob.public])
    old = ring.seal("room-h", b"before dave", message_id="old-1")
    ring.add_identity(dave.public)
    joined = room.add([dave.public], share_history=[1])
    out = js("keyring", {
        "owner": dave_js,
        "directory": [public_text(alice), public_text(bob)],
        "admins": [{"room_id": "room-h", "id": "alice"}],
        "steps": [
            {"accept": joined.bundle.to_bytes().hex()},
            {"accept": joined.history["dave"].to_bytes().hex()},
            {"open": {"binary": old.to_bytes().hex()}, "check_replay": False},
        ],
    })
    assert "error" not in out, out
    assert out["results"][1] == {"accepted": {"room_id": "room-h", "epochs": [1], "kind": "history"}}
    assert bytes.fromhex(out["results"][2]["opened"]["content"]) == b"before dave"
    assert first.epoch == 1


# ------------------------------------------------------------------ bundles built by JS, Python key ring


@pytest.mark.parametrize("kem", [1, 2], ids=["classic", "xwing"])
def test_js_bundle_accepted_by_python_keyring(kem: int) -> None:
    post_quantum = kem == 2
    alice, alice_js = make_identity("alice", post_quantum=post_quantum)
    bob, _ = make_identity("bob", post_quantum=post_quantum)
    secret = os.urandom(32)
    built, sealed = js_batch([
        ("build-bundle", {"rotator": alice_js, "secret": secret.hex(), "suite": "XC20P", "kem": kem,
                          "room_id": "room-from-js", "epoch": 1, "issued_at": 1764086400,
                          "members": [public_text(bob), public_text(alice)]}),
        ("seal", {"secret": secret.hex(), "suite": "XC20P", "room_id": "room-from-js", "epoch": 1,
                  "content": b"hello from js".hex(), "message_id": "js-1", "sender": alice_js}),
    ])
    assert "error" not in built, built
    ring = KeyRing(bob)
    ring.add_identity(alice.public)
    ring.trust_admin("room-from-js", alice.public)
    accepted = ring.accept(bytes.fromhex(built["bundle"]))
    assert (accepted.room_id, tuple(accepted.epochs), accepted.kind) == ("room-from-js", (1,), "bundle")
    assert bytes(ring.record("room-from-js", 1).key) == secret  # type: ignore[arg-type]
    opened = ring.open(bytes.fromhex(sealed["binary"]))
    assert (opened.plaintext, opened.sender_id, opened.signed) == (b"hello from js", "alice", True)
    # The slice for bob verifies in a fresh Python key ring too.
    fresh = KeyRing(bob)
    fresh.add_identity(alice.public)
    fresh.trust_admin("room-from-js", alice.public)
    assert fresh.accept(bytes.fromhex(built["slices"]["bob"])).kind == "slice"
