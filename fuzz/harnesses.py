"""Fuzz harnesses: one plain callable per parser and per open/accept entry point.

Each harness takes arbitrary bytes. The rule they enforce: any exception other than a
DomviaError (the library's documented errors) is a bug, and so is a broken invariant:
- a parsed value re-encodes to the same bytes (binary forms) or to a value that parses
  back equal (JSON forms, whose key order and spacing are free);
- a rejected bundle, slice or history bundle leaves the key ring exactly as it was;
- a message that opens once is a replay the second time.

The same functions run under atheris (fuzz/fuzz_one.py, fuzz/run.sh) and, without it, in
tests/test_fuzz_smoke.py with the seed corpus and seeded mutations, so CI needs no atheris.

The world the harnesses run in is fixed: identities and room keys come from fixed seeds,
so the seed corpus in fuzz/corpus/ (made by fuzz/make_corpus.py) stays valid input.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace
from typing import Any

from domvia_e2ee import storage
from domvia_e2ee import (
    Bundle, DomviaError, HistoryBundle, Identity, KeyRing, PublicIdentity, Room, RoomKey, SealedMessage, Slice,
    Suite, WrapKem, open as open_signed, open_unsigned,
)
from domvia_e2ee.attachment import SealingStream, _Sealer, open_stream
from domvia_e2ee.attachment_reference import AttachmentReference
from domvia_e2ee.bundle import build_bundle
from domvia_e2ee.encoding import loads_object
from domvia_e2ee.hazmat import hpke
from domvia_e2ee.history import build_history
from domvia_e2ee.wrap import unwrap

ROOM = "room-1"
ISSUED_AT = 1_700_000_000


def fixed_secret(label: str) -> bytes:
    return hashlib.sha256(b"domvia-e2ee fuzz world " + label.encode()).digest()


def fixed_identity(name: str, *, post_quantum: bool = False) -> Identity:
    return Identity(name, x25519_private=fixed_secret(name + " x25519"), ed25519_seed=fixed_secret(name + " ed25519"),
                    xwing_seed=fixed_secret(name + " xwing") if post_quantum else None)


def fixed_key(epoch: int, suite: Suite = Suite.AES_256_GCM, room_id: str = ROOM) -> RoomKey:
    return RoomKey(fixed_secret(f"{room_id} epoch {epoch}"), room_id=room_id, epoch=epoch, suite=suite)


@dataclass
class World:
    """alice rotates (room admin), bob is the participant under attack, carol is another member."""

    alice: Identity
    bob: Identity
    carol: Identity
    keys: dict[int, RoomKey]
    bundles: dict[int, Bundle]
    bob_state: dict[str, Any]
    alice_state: dict[str, Any]
    _rings: dict[str, KeyRing] = field(default_factory=dict)

    def bob_ring(self) -> KeyRing:
        """Bob's key ring, rebuilt only after forget_rings(): a rejected input must not change it."""
        if "bob" not in self._rings:
            self._rings["bob"] = KeyRing.from_dict(self.bob_state, self.bob)
        return self._rings["bob"]

    def alice_ring(self) -> KeyRing:
        if "alice" not in self._rings:
            self._rings["alice"] = KeyRing.from_dict(self.alice_state, self.alice)
        return self._rings["alice"]

    def forget_rings(self) -> None:
        """After an input was accepted or opened: the next input starts from the fixed state again."""
        self._rings.clear()


def _ring(owner: Identity, others: list[Identity], admin: Identity) -> KeyRing:
    ring = KeyRing(owner, allow_unsigned=True)
    for other in others:
        ring.add_identity(other.public)
    ring.trust_admin(ROOM, admin.public)
    return ring


@contextmanager
def fixed_ephemerals() -> Iterator[None]:
    """HPKE ephemeral keys from a counter, so every bundle of the world is the same bytes on every run.
    Only the fuzz world does this: the member trees, and so the membership proofs, must be stable."""
    counter = iter(range(1 << 30))
    saved = hpke.os
    hpke.os = SimpleNamespace(urandom=lambda n: hashlib.shake_256(b"eph %d" % next(counter)).digest(n))  # type: ignore[assignment]
    try:
        yield
    finally:
        hpke.os = saved


@cache
def world() -> World:
    """Epochs 1 and 2 of ROOM are held by bob; epoch 1 uses AES-256-GCM, epoch 2 XChaCha20-Poly1305."""
    with fixed_ephemerals():
        return _build_world()


def _build_world() -> World:
    alice, bob, carol = fixed_identity("alice"), fixed_identity("bob", post_quantum=True), fixed_identity("carol")
    members = [alice.public, bob.public, carol.public]
    keys = {1: fixed_key(1), 2: fixed_key(2, Suite.XCHACHA20_POLY1305), 3: fixed_key(3)}
    bundles: dict[int, Bundle] = {}
    bob_ring, alice_ring = _ring(bob, [alice, carol], alice), _ring(alice, [bob, carol], alice)
    for epoch in (1, 2):
        proof = bundles[epoch - 1].proof_for("alice") if epoch > 1 else None
        bundles[epoch] = build_bundle(alice, keys[epoch], members, kem=WrapKem.X25519, issued_at=ISSUED_AT,
                                      proof=proof)
        bob_ring.accept(bundles[epoch])
        alice_ring.accept(bundles[epoch])
    bundles[3] = build_bundle(alice, keys[3], members, kem=WrapKem.X25519, issued_at=ISSUED_AT,
                              proof=bundles[2].proof_for("alice"))
    return World(alice, bob, carol, keys, bundles, bob_ring.to_dict(), alice_ring.to_dict())


def history_for_bob(sharer: str = "alice") -> HistoryBundle:
    """Epoch 1's key shared with bob, anchored in epoch 2 (which bob holds)."""
    w = world()
    roster = sorted((m.participant_id, m.fingerprint) for m in (w.alice.public, w.bob.public, w.carol.public))
    signer = w.alice if sharer == "alice" else w.carol
    return build_history(signer, w.bob.public, [(w.keys[1], roster)], anchor_epoch=2, kem=WrapKem.X25519,
                         issued_at=ISSUED_AT, proof=w.bundles[2].proof_for(sharer))


# -- invariants ---------------------------------------------------------------------------

class InvariantError(AssertionError):
    """A harness found a broken invariant: a bug even though no unexpected exception escaped."""


def require(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantError(what)


def ring_snapshot(ring: KeyRing) -> tuple[Any, ...]:
    """What a rejected input must leave unchanged: every room, epoch, key id and roster."""
    return tuple((room, epoch, ring.key(room, epoch).key_id,
                  None if ring.record(room, epoch).roster is None else tuple(sorted(ring.record(room, epoch).roster.items())))
                 for room in ring.rooms() for epoch in ring.epochs(room))


# -- messages -----------------------------------------------------------------------------

def _open_everywhere(message: SealedMessage) -> None:
    """Opens with the bare recipe and with a key ring; a success must then be a replay."""
    w = world()
    key = w.keys.get(message.epoch)
    if key is not None:
        try:
            if message.signed:
                sender = {"alice": w.alice, "bob": w.bob, "carol": w.carol}.get(message.sender_id, w.alice)
                open_signed(key, message, sender=sender.public)
            else:
                open_unsigned(key, message)
        except DomviaError:
            pass
    ring = w.bob_ring()
    try:
        opened = ring.open(message)
    except DomviaError:
        return
    w.forget_rings()
    require(opened.message_id == message.message_id and opened.epoch == message.epoch, "opened other metadata")
    try:
        ring.open(message)
    except DomviaError as error:
        require(error.code == "E_REPLAY", f"second open failed with {error.code}, not E_REPLAY")
    else:
        raise InvariantError("a message opened twice with replay checking on")


def message_binary(data: bytes) -> None:
    try:
        message = SealedMessage.from_bytes(data)
    except DomviaError:
        return
    require(message.to_bytes() == data, "binary message does not re-encode to its own bytes")
    again = SealedMessage.from_json(message.to_json())
    require(again.to_bytes() == data and again.to_json() == message.to_json(), "binary -> JSON -> binary changed it")
    _open_everywhere(message)


def message_json(data: bytes) -> None:
    try:
        message = SealedMessage.from_json(data)
    except DomviaError:
        return
    canonical = message.to_json()
    again = SealedMessage.from_json(canonical)
    require(again.to_json() == canonical and again.to_bytes() == message.to_bytes(), "JSON form is not canonical")
    require(SealedMessage.from_bytes(message.to_bytes()).to_json() == canonical, "JSON -> binary -> JSON changed it")
    _open_everywhere(message)


# -- bundles, slices, history bundles -----------------------------------------------------

def _accept(data: bytes) -> None:
    ring = world().bob_ring()
    before = ring_snapshot(ring)
    try:
        accepted = ring.accept(data)
    except DomviaError:
        require(ring_snapshot(ring) == before, "a rejected input changed the key ring")
        return
    world().forget_rings()
    require(accepted.room_id == ROOM or accepted.epochs == (), "accepted into another room")


def _bundle_like(parse: Callable[[bytes], Any], data: bytes) -> None:
    try:
        value = parse(data)
    except DomviaError:
        value = None
    if value is not None:
        require(value.to_bytes() == data, f"{type(value).__name__} does not re-encode to its own bytes")
    _accept(data)


def bundle(data: bytes) -> None:
    _bundle_like(Bundle.from_bytes, data)


def slice_(data: bytes) -> None:
    _bundle_like(Slice.from_bytes, data)


def history(data: bytes) -> None:
    _bundle_like(HistoryBundle.from_bytes, data)


def wrapped_key(data: bytes) -> None:
    """unwrap() as bob, for epoch 3's signed key id; the first byte picks the KEM."""
    w = world()
    kem = WrapKem.MLKEM768_X25519 if data[:1] == b"\x02" else WrapKem.X25519
    key = w.keys[3]
    try:
        opened = unwrap(w.bob, data[1:], kem=kem, suite=key.suite, room_id=ROOM, epoch=3, key_id=key.key_id)
    except DomviaError:
        return
    require(opened == key, "unwrap returned a key other than the committed one")


# -- identities and state files -----------------------------------------------------------

def public_identity(data: bytes) -> None:
    try:
        identity = PublicIdentity.from_json(data)
    except DomviaError:
        return
    canonical = identity.to_json()
    again = PublicIdentity.from_json(canonical)
    require(again == identity and again.to_json() == canonical, "identity JSON is not canonical")


def private_identity(data: bytes) -> None:
    try:
        identity = Identity.from_private_dict(loads_object(data, "identity"))
    except DomviaError:
        return
    again = Identity.from_private_dict(identity.to_plaintext_private_dict())
    require(again.public == identity.public and again.to_plaintext_private_dict() == identity.to_plaintext_private_dict(),
            "private identity does not round-trip")


def keyring_state(data: bytes) -> None:
    try:
        ring = KeyRing.from_dict(loads_object(data, "keyring"), world().bob)
    except DomviaError:
        return
    state = ring.to_dict()
    require(KeyRing.from_dict(json.loads(json.dumps(state)), world().bob).to_dict() == state,
            "key ring state does not round-trip")


def room_state(data: bytes) -> None:
    ring = world().alice_ring()
    try:
        room = Room.from_dict(loads_object(data, "room"), ring)
    except DomviaError:
        return
    state = room.to_dict()
    require(Room.from_dict(json.loads(json.dumps(state)), ring).to_dict() == state, "room state does not round-trip")


# -- key files at rest ---------------------------------------------------------------------

KEYRING_FILE_KEY = fixed_secret("keyring file key")


@cache
def _scratch() -> str:
    return tempfile.mkdtemp(prefix="domvia-fuzz-")


def _as_private_file(data: bytes, name: str) -> str:
    path = os.path.join(_scratch(), name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def identity_file(data: bytes) -> None:
    """storage.load_identity on the bytes as a 0600 file. Encrypted files stop before Argon2id (no
    passphrase is given): the KDF would make each input cost tens of milliseconds."""
    path = _as_private_file(data, "identity.json")
    try:
        stored = storage.load_identity(path)
    except DomviaError:
        return
    again = storage.load_identity(_as_private_file(storage.dump_identity(stored.identity), "again.json"))
    require(again.identity.public == stored.identity.public, "identity file does not round-trip")


def keyring_file(data: bytes) -> None:
    """storage.load_keyring for bob, in clear (first byte even) or encrypted under a fixed key ring key."""
    w = world()
    owner = storage.StoredIdentity(w.bob, "bob.json", KEYRING_FILE_KEY if data[:1] == b"\x01" else None)
    path = _as_private_file(data[1:], "keyring.json")
    try:
        ring = storage.load_keyring(path, owner)
    except DomviaError:
        return
    again = storage.load_keyring(_as_private_file(storage.dump_keyring(ring, owner), "again.json"), owner)
    require(again.to_dict() == ring.to_dict(), "key ring file does not round-trip")


# -- attachments ---------------------------------------------------------------------------

@cache
def attachment() -> tuple[AttachmentReference, bytes]:
    """A 200-byte attachment in 64-byte chunks (four chunks), under a fixed file key and salt."""
    plaintext = bytes(range(200))
    stream = SealingStream([plaintext], _Sealer("image/png", Suite.AES_256_GCM, 64, fixed_secret("attachment"),
                                                fixed_secret("attachment salt")), None)
    blob = b"".join(stream)
    assert stream.reference is not None
    return stream.reference, blob


def attachment_reference(data: bytes) -> None:
    try:
        reference = AttachmentReference.from_json(data)
    except DomviaError:
        return
    canonical = reference.to_json()
    require(AttachmentReference.from_json(canonical).to_json() == canonical, "attachment reference is not canonical")


def attachment_blob(data: bytes) -> None:
    """open_stream on a blob for the fixed reference: what is released must be a prefix of the plaintext,
    and all of it only when the blob is exactly the sealed one."""
    reference, blob = attachment()
    released = b""
    try:
        for piece in open_stream(reference, io.BytesIO(data)):
            released += piece
    except DomviaError:
        require(bytes(range(200)).startswith(released), "released bytes that are not the attachment's")
        return
    require(data == blob and released == bytes(range(200)), "opened a blob other than the sealed one")


HARNESSES: dict[str, Callable[[bytes], None]] = {
    "message_binary": message_binary,
    "message_json": message_json,
    "bundle": bundle,
    "slice": slice_,
    "history": history,
    "wrapped_key": wrapped_key,
    "public_identity": public_identity,
    "private_identity": private_identity,
    "keyring_state": keyring_state,
    "room_state": room_state,
    "identity_file": identity_file,
    "keyring_file": keyring_file,
    "attachment_reference": attachment_reference,
    "attachment_blob": attachment_blob,
}


# -- structure-aware JSON edits -------------------------------------------------------------

MAX_EDITS = 24
JSON_TARGETS = ("message_json", "public_identity", "private_identity", "keyring_state", "room_state")
_HOSTILE: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2, 255, 256, 2**32 - 1, 2**32, 2**63, 2**64, -(2**63), 1.0, 1e308, 0.5,
    "", "a", "A" * 129, "\u0000", "é", "\ud800", "A256GCM", "XC20P", "OKP", "X25519", "Ed25519", "bob", "alice",
    "room-1", "bundle", "history", "AA", "AA==", "_-_-", [], {}, [1], [[]], ["a", "b"], {"x": 1}, {"v": 1},
)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _nodes(item, (*path, index))
    return out


def _edit_string(text: str, how: int) -> str:
    # Doubling is capped: repeated, it would build gigabyte documents in the harness itself
    # (the parsers refuse anything that large by size first; see tests/attacks/test_oversized_inputs.py).
    doubled = text + text if len(text) < 4096 else text
    return (text[:-1], text + "A", text + "=", text.upper(), text[1:], text[::-1], doubled)[how % 7]


def _apply(document: Any, path: tuple[Any, ...], op: int, pick: int) -> Any:
    """One edit at path: replace with a hostile value, edit a string, or add/remove/rename a field."""
    if not path:
        return document
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op % 4 == 0:
        parent[last] = copy.deepcopy(_HOSTILE[pick % len(_HOSTILE)])
    elif op % 4 == 1 and isinstance(parent[last], str):
        parent[last] = _edit_string(parent[last], pick)
    elif op % 4 == 2 and isinstance(parent, dict):
        del parent[last]
    elif op % 4 == 3 and isinstance(parent, dict):
        parent[f"{last}{'_' * (pick % 2)}x"[: 1 + pick % 3]] = copy.deepcopy(parent[last])
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    return document


@cache
def _json_seeds(target: str) -> tuple[bytes, ...]:
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "corpus" / target
    return tuple(p.read_bytes() for p in sorted(folder.iterdir())) if folder.is_dir() else ()


def json_edit(data: bytes) -> None:
    """Structure-aware: byte 0 picks a JSON input kind, byte 1 a seed, each further pair of bytes
    one edit (a node of the document, then what to do to it). Reaches checks that byte-level
    mutation of JSON text rarely gets past the parser to."""
    if len(data) < 2:
        return
    target = JSON_TARGETS[data[0] % len(JSON_TARGETS)]
    seeds = _json_seeds(target)
    if not seeds:
        return
    document = json.loads(seeds[data[1] % len(seeds)])
    # At most MAX_EDITS edits: more per input add cost (each walks the document), not reach.
    for i in range(2, min(len(data) - 2, 2 + 3 * MAX_EDITS), 3):
        nodes = _nodes(document)
        document = _apply(document, nodes[data[i] % len(nodes)], data[i + 1], data[i + 2])
    HARNESSES[target](json.dumps(document, ensure_ascii=data[-1] % 2 == 0).encode("utf-8", "surrogatepass"))


HARNESSES["json_edit"] = json_edit
