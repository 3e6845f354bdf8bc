"""Writes the seed corpus fuzz/corpus/<harness>/ from the fixed fuzz world.

Run from the repository root: `python fuzz/make_corpus.py`. Seeds are valid inputs (accepted
bundles, slices, links, member proofs, history) and near misses (a stale bundle, a fork, a gap, a
non-admin rotator, a false downgrade, a slice for someone else, an unknown epoch) so the fuzzers
start deep inside every parser and verifier. Everything is fixed (keys, HPKE ephemerals, nonces),
so a rerun rewrites the same files, except the post-quantum bundle and what derives from it (X-Wing
encapsulation draws its own randomness inside `cryptography`; any such seed is as good as another).
tests/test_fuzz_smoke.py also reads vectors/ when present.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harnesses import (
    ADMIN_ONLY, JSON_TARGETS, KEYRING_FILE_KEY, ROOM, ROOM2, attachment, fixed_ephemerals, fixed_key,
    history_for_bob, make_bundle, member_proof_file, world,
)

from domvia_e2ee import Identity, Room, RoomKey, RoomPolicy, SealedMessage, Suite, WrapKem, storage
from domvia_e2ee.encoding import b64encode, dumps
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


def _encrypted_keyring(ring: object, owner: storage.StoredIdentity) -> bytes:
    """A key ring file encrypted under the fixed key ring key, with a fixed nonce."""
    saved = suites.os
    suites.os = _FixedRandomOs()  # type: ignore[assignment]
    try:
        return storage.dump_keyring(ring, owner)  # type: ignore[arg-type]
    finally:
        suites.os = saved


def _room_states() -> list[bytes]:
    """alice's state files: committed at her newest epoch; pending (an interrupted rotation to be rolled
    forward); and one epoch behind her key ring (another admin rotated since)."""
    w = world()
    room = Room(w.alice_ring(), ROOM)
    first = {"room": {"room": ROOM, "epoch": 1}, "bundle": b64encode(w.bundles[1].to_bytes())}
    behind = dumps({"file": storage.ROOM_STATE_FILE, "v": storage.FILE_VERSION, "owner": "alice",
                    "owner_fingerprint": b64encode(w.alice.public.fingerprint), **first, "pending": None}) + b"\n"
    return [storage.dump_room_state(room, w.bundles[2].to_bytes()),
            storage.dump_room_state(room, w.bundles[2].to_bytes(), before=first), behind]


def seeds() -> dict[str, list[bytes]]:
    w = world()
    alice, bob, carol = w.alice, w.bob, w.carol
    messages = [
        _sealed(w.keys[1], b"hello bob", "m-1", alice),
        _sealed(w.keys[2], b"x" * 300, "m-2", carol, content_type="application/json", pad=False),
        _sealed(w.keys[2], b"bot line", "m-3", None, sender_id="carol"),
        _sealed(w.keys[1], b"", "m-4", None, sender_id="mallory"),
        _sealed(w.keys[3], b"not yet held", "m-5", alice),
        _sealed(w.keys[2], b"from alice", "m-6", alice),
        _sealed(w.keys[1], b"carol in epoch 1: not proved yet", "m-7", carol),
    ]
    everyone = [alice, bob, carol]
    key3 = w.keys[3]
    with fixed_ephemerals():
        # Accepted by bob: ...
        post_quantum = make_bundle(alice, fixed_key(3, variant=" pq"), [alice, bob], previous=w.bundles[2],
                                   admins=(alice,), kem=WrapKem.MLKEM768_X25519)
        governance = make_bundle(alice, fixed_key(3, Suite.XCHACHA20_POLY1305, variant=" gov"), everyone,
                                 previous=w.bundles[2], admins=(alice, bob),
                                 policy=RoomPolicy(max_messages=5, max_age_seconds=3600, members_may_rotate=True))
        without_bob = make_bundle(alice, fixed_key(3, variant=" link"), [alice, carol], previous=w.bundles[2],
                                  admins=(alice,))  # a link: bob is not a member of epoch 3
        # ... and near misses: a member who is no admin, a fork of epoch 2, a downgrade flag without a downgrade,
        # a gap, and a member rotation of ROOM2 that changes the policy.
        by_carol = make_bundle(carol, key3, everyone, previous=w.bundles[2], admins=(alice,))
        fork = make_bundle(alice, fixed_key(2, variant=" fork"), everyone, previous=w.bundles[1], admins=(alice,))
        false_downgrade = make_bundle(alice, fixed_key(3, variant=" down"), everyone, previous=w.bundles[2],
                                      admins=(alice,), downgrade=True)
        gap = make_bundle(alice, fixed_key(4), everyone, previous=w.bundles[3], admins=(alice,))
        member_changes_policy = make_bundle(carol, fixed_key(2, room_id=ROOM2, variant=" policy"), everyone,
                                            previous=w.room2[1], admins=(alice,), policy=ADMIN_ONLY,
                                            authority=w.room2[1].proof_for("carol"))
        history_seeds = [history_for_bob(), history_for_bob("carol"), history_for_bob(recipient="carol")]
    bundles = [w.bundles[3], post_quantum, governance, without_bob, w.room2[2], by_carol, fork, false_downgrade, gap,
               member_changes_policy, w.bundles[2]]
    bob_index = [m.participant_id for m in w.bundles[3].members].index("bob")
    return {
        "message_binary": [m.to_bytes() for m in messages],
        "message_json": [m.to_json() for m in messages],
        "bundle": [b.to_bytes() for b in bundles],
        "slice": [w.bundles[3].slice_for("bob").to_bytes(), post_quantum.slice_for("bob").to_bytes(),
                  governance.slice_for("bob").to_bytes(), w.room2[2].slice_for("bob").to_bytes(),
                  w.bundles[3].slice_for("carol").to_bytes(), by_carol.slice_for("bob").to_bytes(),
                  fork.slice_for("bob").to_bytes()],
        "announcement": [w.bundles[3].announcement().to_bytes(), without_bob.announcement().to_bytes(),
                         w.room2[2].announcement().to_bytes(), fork.announcement().to_bytes(),
                         w.bundles[2].announcement().to_bytes(), gap.announcement().to_bytes()],
        "member_proof": [member_proof_file("carol").to_bytes(), member_proof_file("carol", room2=True).to_bytes(),
                         member_proof_file("alice", epoch=2).to_bytes(), member_proof_file("carol", epoch=3).to_bytes()],
        "history": [h.to_bytes() for h in history_seeds],
        "header": [b.header.to_bytes() for b in (w.bundles[1], post_quantum, governance, w.room2[2], false_downgrade)],
        "wrapped_key": [b"\x01" + w.bundles[3].members[bob_index].wrapped,
                        b"\x02" + post_quantum.members[[m.participant_id for m in post_quantum.members].index("bob")].wrapped],
        "public_identity": [alice.public.to_json(), bob.public.to_json(), carol.public.to_json()],
        "private_identity": [dumps(alice.to_plaintext_private_dict()), dumps(carol.to_plaintext_private_dict())],
        "keyring_state": [dumps(w.bob_state), dumps(w.alice_state)],
        "room_state": _room_states(),
        "identity_file": [storage.dump_identity(bob), _encrypted_identity(alice)],
        "keyring_file": [b"\x00" + storage.dump_keyring(w.bob_ring(), storage.StoredIdentity(bob, "b", None)),
                         b"\x01" + _encrypted_keyring(w.bob_ring(), storage.StoredIdentity(bob, "b", KEYRING_FILE_KEY))],
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
            data = data.encode("ascii") if isinstance(data, str) else data  # JSON forms are text
            (folder / f"seed-{hashlib.sha256(data).hexdigest()[:16]}").write_bytes(data)
        print(f"{name}: {len(inputs)} seeds")


if __name__ == "__main__":
    main()
