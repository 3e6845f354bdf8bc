"""The JavaScript implementation in a real headless Chromium, against this library.

`node interop/js/browser/run.mjs adapter` serves interop/js on 127.0.0.1, opens it in /usr/bin/chromium
(puppeteer-core, --headless=new) and answers the conformance adapter protocol from the page, plus the
page's own round-trip operations (browser_* in interop/js/browser/page.mjs). The page's identity is made
in the page, with the browser's randomness, and never leaves it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domvia_e2ee import (
    Identity,
    KeyRing,
    PublicIdentity,
    Room,
    RoomKey,
    Suite,
    conformance,
    open as open_signed,
    open_unsigned,
    seal,
    seal_unsigned,
)
from domvia_e2ee._vectors import VECTORS_DIR

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "interop" / "js"
RUN = JS_DIR / "browser" / "run.mjs"
NODE = shutil.which("node")
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not on PATH"),
    pytest.mark.skipif(not (JS_DIR / "node_modules" / "puppeteer-core").is_dir(),
                       reason="interop/js/node_modules lacks puppeteer-core: run `cd interop/js && npm ci`"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing: apt-get install chromium"),
]

COMMAND = f"{shlex.quote(str(NODE))} {shlex.quote(str(RUN))} adapter"
SUITES = {"A256GCM": Suite.AES_256_GCM, "XC20P": Suite.XCHACHA20_POLY1305}


class Page:
    """One Chromium page behind the adapter protocol, kept open for a module's tests."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(shlex.split(COMMAND), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, encoding="utf-8")
        self.count = 0

    def call(self, op: str, inputs: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.count += 1
        case_id = f"call-{self.count}"
        self.process.stdin.write(json.dumps({"id": case_id, "op": op, "input": inputs}) + "\n")
        self.process.stdin.flush()
        response: dict[str, Any] = json.loads(self.process.stdout.readline())
        assert response["id"] == case_id
        return response

    def output(self, op: str, inputs: dict[str, Any]) -> dict[str, Any]:
        response = self.call(op, inputs)
        assert "output" in response, response
        out: dict[str, Any] = response["output"]
        return out

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    chromium = Page()
    yield chromium
    assert chromium.close() == 0


def _key(suite: str, room_id: str = "room-browser") -> RoomKey:
    return RoomKey(os.urandom(32), room_id=room_id, epoch=3, suite=SUITES[suite])


def _key_inputs(key: RoomKey, suite: str) -> dict[str, Any]:
    return {"secret": bytes(key).hex(), "suite": suite, "room_id": key.room_id, "epoch": key.epoch}


def test_every_vector_passes_in_chromium() -> None:
    cases = conformance.load_cases(VECTORS_DIR)
    results = conformance.run_external(COMMAND, cases, timeout=300)
    assert [r for r in results if not r.passed] == []
    assert len(results) == len(cases) > 300


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_chromium_opens_what_python_sealed(page: Page, suite: str) -> None:
    alice = Identity.generate("alice")
    key = _key(suite)
    contents = {"short": "héllo from Python 🐍".encode(), "empty": b"", "largest": os.urandom(65536)}
    for name, content in contents.items():
        for pad in (True, False):
            signed = seal(key, content, message_id=f"py-{name}-{pad}", sender=alice, pad=pad)
            unsigned = seal_unsigned(key, content, message_id=f"bot-{name}", sender_id="bot", content_type="a/b", pad=pad)
            for message, sender in ((signed, alice.public.to_json()), (unsigned, None)):
                for form in ("binary", "json"):
                    wire = message.to_bytes().hex() if form == "binary" else str(message.to_json())
                    inputs = {**_key_inputs(key, suite), form: wire, **({"sender": sender} if sender else {})}
                    got = page.output("browser_open", inputs)
                    assert got["content"] == content.hex()
                    assert (got["sender_id"], got["signed"]) == (("alice", True) if sender else ("bot", False))
                    assert got["message_id"] == message.message_id and got["epoch"] == 3
    # and refuses what it must: a flipped bit, and alice's message checked against another identity
    data = bytearray(seal(key, b"x", message_id="m", sender=alice).to_bytes())
    data[-80] ^= 1
    assert page.call("browser_open", {**_key_inputs(key, suite), "binary": data.hex(),
                                      "sender": alice.public.to_json()})["error"] == "E_AUTH"


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_python_opens_what_chromium_sealed(page: Page, suite: str) -> None:
    public = PublicIdentity.from_json(page.output("browser_identity", {"id": f"browser-{suite}"})["public"])
    key = _key(suite)
    content = "from Chromium: ça marche".encode()
    seen = set()
    for pad in (True, False):
        sealed = page.output("browser_seal", {**_key_inputs(key, suite), "content": content.hex(),
                                              "message_id": f"js-{pad}", "content_type": "text/plain", "padded": pad})
        for wire in (bytes.fromhex(sealed["binary"]), sealed["json"]):
            opened = open_signed(key, wire, sender=public)
            assert (opened.plaintext, opened.sender_id, opened.signed) == (content, public.participant_id, True)
        seen.add(sealed["binary"])
        bot = page.output("browser_seal", {**_key_inputs(key, suite), "content": content.hex(), "signed": False,
                                           "sender_id": "js-bot", "message_id": "b", "content_type": "text/plain",
                                           "padded": pad})
        assert open_unsigned(key, bytes.fromhex(bot["binary"])).sender_id == "js-bot"
    again = page.output("browser_seal", {**_key_inputs(key, suite), "content": content.hex(), "message_id": "js-True",
                                         "content_type": "text/plain", "padded": True})
    assert again["binary"] not in seen  # a fresh nonce from the browser's randomness


def test_chromium_accepts_a_python_bundle(page: Page) -> None:
    """The group layer in the browser: a key ring in the page joins on alice's group-state v2 bundle (alice is
    its anchor for room-b), opens her message, and answers."""
    public = PublicIdentity.from_json(page.output("browser_identity", {"id": "browser-member"})["public"])
    alice = Identity.generate("alice")
    ring = KeyRing(alice)
    ring.add_identity(public)
    _, rotation = Room.create(ring, "room-b", [public])
    hello = ring.seal("room-b", b"welcome, browser", message_id="a-1")
    got = page.output("browser_keyring", {
        "directory": [alice.public.to_json()], "anchors": [{"room_id": "room-b", "id": "alice"}],
        "steps": [{"accept": rotation.bundle.to_bytes().hex()}, {"open": {"binary": hello.to_bytes().hex()}},
                  {"seal": {"room_id": "room-b", "content": b"thanks, alice".hex(), "message_id": "b-1"}}]})
    accepted, opened, sealed = got["results"]
    assert accepted == {"accepted": {"room_id": "room-b", "epochs": [1], "kind": "bundle"}}
    assert bytes.fromhex(opened["opened"]["content"]) == b"welcome, browser"
    reply = ring.open(bytes.fromhex(sealed["sealed"]["binary"]))
    assert (reply.plaintext, reply.sender_id, reply.signed) == (b"thanks, alice", "browser-member", True)
