"""Fuzz harnesses: one plain callable per parser and per open/accept entry point.

Each harness takes arbitrary bytes. The rule they enforce: any exception other than a
DomviaError (the library's documented errors) is a bug, and so is a broken invariant:
- a parsed value re-encodes to the same bytes (binary forms) or to a value that parses
  back equal (JSON forms, whose key order and spacing are free);
- a rejected bundle, slice, announcement, member proof or history bundle leaves the key ring exactly
  as it was (fork evidence aside), and an accepted one keeps the held epochs contiguous;
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
    Announcement, Bundle, DomviaError, HistoryBundle, Identity, KeyRing, MemberProofFile, PublicIdentity, RoomKey,
    RoomPolicy, SealedMessage, Slice, Suite, WrapKem, keyring_from_plaintext, keyring_to_plaintext,
    open as open_signed, open_unsigned,
)
from domvia_e2ee.attachment import SealingStream, open_stream
from domvia_e2ee.attachment_seal import _Sealer
from domvia_e2ee.attachment_reference import AttachmentReference
from domvia_e2ee.encoding import loads_object
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.group.header import NO_PREVIOUS, EpochHeader
from domvia_e2ee.group.history import SharedEpoch, build_history
from domvia_e2ee.hazmat import hpke
from domvia_e2ee.wrap import unwrap

ROOM = "room-1"
ROOM2 = "room-2"  # members may rotate: carol, a member who is no admin, signs its epoch 2 with an authority proof
ISSUED_AT = 1_700_000_000
ADMIN_ONLY = RoomPolicy()
MEMBERS_ROTATE = RoomPolicy(members_may_rotate=True)


def fixed_secret(label: str) -> bytes:
    return hashlib.sha256(b"domvia-e2ee fuzz world " + label.encode()).digest()


def fixed_identity(name: str, *, post_quantum: bool = False) -> Identity:
    return Identity(name, x25519_private=fixed_secret(name + " x25519"), ed25519_seed=fixed_secret(name + " ed25519"),
                    xwing_seed=fixed_secret(name + " xwing") if post_quantum else None)


def fixed_key(epoch: int, suite: Suite = Suite.AES_256_GCM, room_id: str = ROOM, variant: str = "") -> RoomKey:
    return RoomKey(fixed_secret(f"{room_id} epoch {epoch}{variant}"), room_id=room_id, epoch=epoch, suite=suite)


def admins_of(*identities: Identity) -> tuple[tuple[str, bytes], ...]:
    return tuple(sorted(((i.participant_id, i.public.fingerprint) for i in identities), key=lambda a: a[0].encode()))


def make_bundle(rotator: Identity, key: RoomKey, members: list[Identity], *, previous: Bundle | None,
                admins: tuple[Identity, ...], policy: RoomPolicy = ADMIN_ONLY, kem: WrapKem = WrapKem.X25519,
                downgrade: bool = False, authority: Any = None) -> Bundle:
    """A bundle of the fixed world: call it inside fixed_ephemerals() for the same bytes on every run."""
    plan = Plan(NO_PREVIOUS if previous is None else previous.header.epoch_hash(), policy, admins_of(*admins),
                downgrade, authority)
    return build_bundle(rotator, key, [m.public for m in members], kem=kem, issued_at=ISSUED_AT, plan=plan)


@dataclass
class World:
    """alice is the admin of both rooms, bob the participant under attack, carol another member.

    bob joined both rooms with a slice (so his roster of epoch 1 lists only alice and himself: member
    proofs and history bundles have something to add) and holds epoch 2 of ROOM from the full bundle.
    bundles[3] (epoch 3 of ROOM) and room2[2] (carol's member rotation of ROOM2) are not held yet."""

    alice: Identity
    bob: Identity
    carol: Identity
    keys: dict[int, RoomKey]
    bundles: dict[int, Bundle]
    room2: dict[int, Bundle]
    bob_state: dict[str, Any]
    alice_state: dict[str, Any]
    _rings: dict[str, KeyRing] = field(default_factory=dict)

    def bob_ring(self) -> KeyRing:
        """Bob's key ring, rebuilt only after forget_rings(): a rejected input must not change it."""
        if "bob" not in self._rings:
            self._rings["bob"] = keyring_from_plaintext(self.bob_state, self.bob)
        return self._rings["bob"]

    def alice_ring(self) -> KeyRing:
        if "alice" not in self._rings:
            self._rings["alice"] = keyring_from_plaintext(self.alice_state, self.alice)
        return self._rings["alice"]

    def forget_rings(self) -> None:
        """After an input was accepted or opened: the next input starts from the fixed state again."""
        self._rings.clear()


@contextmanager
def fixed_ephemerals() -> Iterator[None]:
    """HPKE ephemeral keys from a counter, so every classic bundle of the world is the same bytes on every run.
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
    """Epochs 1 and 2 of ROOM (AES-256-GCM, then XChaCha20-Poly1305) and epoch 1 of ROOM2 are held by bob."""
    with fixed_ephemerals():
        return _build_world()


def _build_world() -> World:
    alice, bob, carol = (fixed_identity("alice", post_quantum=True), fixed_identity("bob", post_quantum=True),
                         fixed_identity("carol"))
    everyone = [alice, bob, carol]
    keys = {1: fixed_key(1), 2: fixed_key(2, Suite.XCHACHA20_POLY1305), 3: fixed_key(3)}
    bundles: dict[int, Bundle] = {}
    for epoch in (1, 2, 3):
        bundles[epoch] = make_bundle(alice, keys[epoch], everyone, previous=bundles.get(epoch - 1), admins=(alice,))
    room2 = {1: make_bundle(alice, fixed_key(1, room_id=ROOM2), everyone, previous=None, admins=(alice,),
                            policy=MEMBERS_ROTATE)}
    room2[2] = make_bundle(carol, fixed_key(2, room_id=ROOM2), everyone, previous=room2[1], admins=(alice,),
                           policy=MEMBERS_ROTATE, authority=room2[1].proof_for("carol"))
    bob_ring, alice_ring = KeyRing(bob, allow_unsigned=True), KeyRing(alice, allow_unsigned=True)
    for ring in (bob_ring, alice_ring):
        ring.trust_admin(ROOM, alice.public)
        ring.trust_admin(ROOM2, alice.public)
    bob_ring.accept(bundles[1].slice_for("bob").to_bytes())
    bob_ring.accept(bundles[2].to_bytes())
    bob_ring.accept(room2[1].slice_for("bob").to_bytes())
    for bundle in (bundles[1], bundles[2], room2[1]):
        alice_ring.accept(bundle)
    return World(alice, bob, carol, keys, bundles, room2, keyring_to_plaintext(bob_ring),
                 keyring_to_plaintext(alice_ring))


def history_for_bob(sharer: str = "alice", recipient: str = "bob") -> HistoryBundle:
    """Epoch 1's key and full roster shared with bob, anchored in epoch 2 (which bob holds)."""
    w = world()
    signer = {"alice": w.alice, "carol": w.carol}[sharer]
    to = {"bob": w.bob, "carol": w.carol}[recipient]
    first = w.bundles[1]
    shared = SharedEpoch(first.header.to_bytes(), w.keys[1], tuple(m.entry for m in first.members))
    return build_history(signer, to.public, [shared], room_id=ROOM, anchor_epoch=2, kem=WrapKem.X25519,
                         issued_at=ISSUED_AT, sharer_proof=w.bundles[2].proof_for(sharer))


def member_proof_file(participant_id: str, epoch: int = 1, room2: bool = False) -> MemberProofFile:
    w = world()
    bundle = (w.room2 if room2 else w.bundles)[epoch]
    return bundle.proof_file_for(participant_id)


# -- invariants ---------------------------------------------------------------------------

class InvariantError(AssertionError):
    """A harness found a broken invariant: a bug even though no unexpected exception escaped."""


def require(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantError(what)


def ring_snapshot(ring: KeyRing) -> tuple[Any, ...]:
    """What a rejected input must leave unchanged: every room, epoch, header, key, roster and count
    (fork evidence aside: keeping it is what a fork changes, spec/keyring.md)."""
    out = []
    for room in ring.rooms():
        for epoch in ring.epochs(room):
            record = ring.record(room, epoch)
            out.append((room, epoch, record.header_bytes, None if record.key is None else bytes(record.key),
                        tuple(sorted(record.roster.items())), record.complete, record.source, record.messages))
    return tuple(out)


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


# -- bundles, slices, announcements, member proofs, history bundles, headers ---------------

def _accept(data: bytes) -> None:
    ring = world().bob_ring()
    before = ring_snapshot(ring)
    forks = {room: len(ring.forks(room)) for room in ring.rooms()}
    try:
        accepted = ring.accept(data)
    except DomviaError as error:
        require(ring_snapshot(ring) == before, f"a rejected input ({error.code}) changed the key ring")
        if error.code != "E_FORK":
            require({room: len(ring.forks(room)) for room in ring.rooms()} == forks,
                    f"a rejected input ({error.code}) added fork evidence")
        return
    world().forget_rings()
    require(accepted.room_id in (ROOM, ROOM2) or accepted.epochs == (), "accepted into a room bob never joined")
    require(all(e in ring.epochs(accepted.room_id) for e in accepted.epochs), "accepted epochs that are not held")
    held = ring.epochs(accepted.room_id)
    require(held == list(range(held[0], held[-1] + 1)), "the held epochs are no longer contiguous")


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


def announcement(data: bytes) -> None:
    _bundle_like(Announcement.from_bytes, data)


def member_proof(data: bytes) -> None:
    _bundle_like(MemberProofFile.from_bytes, data)


def history(data: bytes) -> None:
    _bundle_like(HistoryBundle.from_bytes, data)


def header(data: bytes) -> None:
    """EpochHeader.from_bytes: the signed part of every bundle, slice and announcement."""
    try:
        parsed = EpochHeader.from_bytes(data)
    except DomviaError:
        return
    require(parsed.to_bytes() == data, "header does not re-encode to its own bytes")
    require(EpochHeader.from_bytes(parsed.to_bytes()) == parsed, "header does not parse back equal")


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
        ring = keyring_from_plaintext(loads_object(data, "keyring"), world().bob)
    except DomviaError:
        return
    state = keyring_to_plaintext(ring)
    require(keyring_to_plaintext(keyring_from_plaintext(json.loads(json.dumps(state)), world().bob)) == state,
            "key ring state does not round-trip")


def room_state(data: bytes) -> None:
    """storage.load_room_state on the bytes as a file, against alice's key ring (epochs 1 and 2 of ROOM):
    the room comes from the key ring, the file names only a room, an epoch and a bundle (and may be pending)."""
    ring = world().alice_ring()
    path = _as_private_file(data, "room.state")
    try:
        state = storage.load_room_state(path, ring)
    except DomviaError:
        return
    require(state.room.epoch == ring.latest_epoch(state.room.room_id), "the room is not the key ring's newest epoch")
    if state.bundle:
        again = storage.load_room_state(_as_private_file(storage.dump_room_state(state.room, state.bundle),
                                                         "again.state"), ring)
        require((again.room.room_id, again.room.epoch, again.bundle, again.recovered)
                == (state.room.room_id, state.room.epoch, state.bundle, None), "room state does not round-trip")


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
    require(keyring_to_plaintext(again) == keyring_to_plaintext(ring), "key ring file does not round-trip")


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
    "announcement": announcement,
    "member_proof": member_proof,
    "history": history,
    "header": header,
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
