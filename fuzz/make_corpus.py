"""Writes the seed corpus fuzz/corpus/<harness>/ from the fixed fuzz world.

Run from the repository root: `python fuzz/make_corpus.py`. Seeds are valid inputs (and a few
near misses: a stale bundle, a slice for someone else, an unknown epoch) so the fuzzers start
deep inside every parser and verifier. Everything is fixed (keys, HPKE ephemerals, nonces), so a
rerun rewrites the same files. tests/test_fuzz_smoke.py also reads vectors/ when present.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harnesses import ISSUED_AT, attachment, JSON_TARGETS, KEYRING_FILE_KEY, ROOM, fixed_ephemerals, history_for_bob, world

from domvia_e2ee import Identity, Room, RoomKey, SealedMessage, WrapKem, storage
from domvia_e2ee.bundle import build_bundle
from domvia_e2ee.encoding import dumps
from domvia_e2ee.hazmat import suites
from domvia_e2ee.sealing import _seal_from_parts

CORPUS = Path(__file__).resolve().parent / "corpus"


def _sealed(key: RoomKey, plaintext: bytes, message_id: str, signer: Identity | None, *, sender_id: str = "",
            content_type: str = "text/plain", pad: bool = True) -> SealedMessage:
    """A message with a nonce fixed by its id, so that rerunning this script changes no seed."""
    nonce = hashlib.sha256(message_id.encode()).digest()[:key.suite.nonce_size]
    return _seal_from_parts(key, plaintext, message_id=message_id, sender_id=signer.participant_id if signer else sender_id,
                            content_type=content_type, pad=pad, nonce=nonce, signer=signer)


class _FixedRandomOs:
    """os, but with urandom drawn from a counter: for seeds that are the same bytes on every run."""

    def __init__(self) -> None:
        self._counter = 0

    def urandom(self, size: int) -> bytes:
        self._counter += 1
        return hashlib.shake_256(b"corpus %d" % self._counter).digest(size)

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)


def _encrypted_identity(identity: Identity) -> bytes:
    """An encrypted identity file at the lowest cost, with fixed salt, nonce and inner key."""
    fixed = _FixedRandomOs()
    saved = storage.identity_file.os, suites.os
    storage.identity_file.os = suites.os = fixed  # type: ignore[assignment]
    try:
        return storage.dump_identity(identity, passphrase=b"fuzz", cost=storage.MIN_COST)
    finally:
        storage.identity_file.os, suites.os = saved


def seeds() -> dict[str, list[bytes]]:
    w = world()
    messages = [
        _sealed(w.keys[1], b"hello bob", "m-1", w.alice),
        _sealed(w.keys[2], b"x" * 300, "m-2", w.carol, content_type="application/json", pad=False),
        _sealed(w.keys[2], b"bot line", "m-3", None, sender_id="carol"),
        _sealed(w.keys[1], b"", "m-4", None, sender_id="mallory"),
        _sealed(w.keys[3], b"not yet held", "m-5", w.alice),
    ]
    with fixed_ephemerals():
        by_carol = build_bundle(w.carol, w.keys[3], [w.alice.public, w.bob.public, w.carol.public],
                                kem=WrapKem.X25519, issued_at=ISSUED_AT, proof=w.bundles[2].proof_for("carol"))
        post_quantum = build_bundle(w.alice, w.keys[3], [w.bob.public], kem=WrapKem.MLKEM768_X25519,
                                    issued_at=ISSUED_AT, proof=None)
    room = Room(w.alice_ring(), ROOM)
    room.members = {i.participant_id: i.public for i in (w.alice, w.bob, w.carol)}
    room.epoch = 2
    room.own_proof = w.bundles[2].proof_for("alice")
    return {
        "message_binary": [m.to_bytes() for m in messages],
        "message_json": [m.to_json().encode() for m in messages],
        "bundle": [w.bundles[3].to_bytes(), by_carol.to_bytes(), post_quantum.to_bytes(), w.bundles[2].to_bytes()],
        "slice": [w.bundles[3].slice_for("bob").to_bytes(), by_carol.slice_for("bob").to_bytes(),
                  post_quantum.slice_for("bob").to_bytes(), w.bundles[3].slice_for("carol").to_bytes()],
        "history": [history_for_bob().to_bytes(), history_for_bob("carol").to_bytes()],
        "wrapped_key": [b"\x01" + w.bundles[3].members[1].wrapped, b"\x02" + post_quantum.members[0].wrapped],
        "public_identity": [w.alice.public.to_json().encode(), w.bob.public.to_json().encode()],
        "private_identity": [dumps(w.alice.to_plaintext_private_dict()), dumps(w.bob.to_plaintext_private_dict())],
        "keyring_state": [dumps(w.bob_state)],
        "room_state": [dumps(room.to_dict())],
        "identity_file": [storage.dump_identity(w.bob), _encrypted_identity(w.alice)],
        "keyring_file": [b"\x00" + storage.dump_keyring(w.bob_ring(), storage.StoredIdentity(w.bob, "b", None)),
                         b"\x01" + storage.dump_keyring(w.bob_ring(), storage.StoredIdentity(w.bob, "b", KEYRING_FILE_KEY))],
        "attachment_reference": [attachment()[0].to_json()],
        "attachment_blob": [attachment()[1], attachment()[1][:-20]],
        # json_edit: byte 0 picks the JSON kind, byte 1 the seed, then (node, operation, value) triples.
        "json_edit": [bytes([kind, 0]) for kind in range(len(JSON_TARGETS))]
        + [bytes([kind, 0, 3, 0, 7, 9, 1, 2]) for kind in range(len(JSON_TARGETS))],
    }


def main() -> None:
    for name, inputs in seeds().items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for data in inputs:
            (folder / f"seed-{hashlib.sha256(data).hexdigest()[:16]}").write_bytes(data)
        print(f"{name}: {len(inputs)} seeds")


if __name__ == "__main__":
    main()
