"""Key material never reaches logs, output, exception messages or reprs: a sentinel search.

Every secret in these tests is a sentinel: identities and room keys built from recognisable bytes,
and, for the CLI, os.urandom in the modules that draw keys replaced by a recorder that hands out
sentinel-derived secrets. The tests run representative operations and error paths (tampering,
wrong keys, replays, malformed state, stale bundles, wrong passphrases, CLI failures with and
without --debug), capture stdout, stderr, every log record at DEBUG, every exception's message,
args, repr and chain, and the repr of every object involved, then search all of it for each secret
and each key derived from one, as raw text, hex (either case), base64 and base64url, whole or as
any aligned 8-byte piece. Files that hold keys on purpose (identity and key ring files, to_dict()
exports) are not output and are not searched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from domvia_e2ee import (
    Identity, KeyRing, MemberProofFile, Room, RoomKey, SealedMessage, keyring_from_plaintext, keyring_to_plaintext,
    open as open_signed, open_unsigned, seal, storage,
)
from domvia_e2ee import identity as identity_module
from domvia_e2ee import keys as keys_module
from domvia_e2ee import labels
from domvia_e2ee.cli.main import main as cli_main
from domvia_e2ee.hazmat import kdf
from domvia_e2ee.wrap import WrapKem, unwrap, wrap

SENTINEL_KEY = b"SENTINEL:room-key:0123456789abcd"
SENTINEL_X25519 = b"SENTINEL:x25519-private:01234567"
SENTINEL_ED25519 = b"SENTINEL:ed25519-seed:0123456789"
ROOM_ID = "room-1"


def _forms(secret: bytes) -> set[str]:
    """Every spelling of secret (and of its aligned 8-byte pieces) that output could contain."""
    pieces = [secret] + [secret[i:i + 8] for i in range(0, len(secret) - 7, 8)]
    out: set[str] = set()
    for piece in pieces:
        out |= {piece.hex(), piece.hex().upper(), base64.urlsafe_b64encode(piece).decode().rstrip("="),
                base64.b64encode(piece).decode().rstrip("="), repr(piece)[2:-1]}
        if piece.isascii():
            out.add(piece.decode())
    return {form for form in out if len(form) >= 8}


def _derived(secret: bytes) -> list[bytes]:
    """Keys computed from a room key secret: its HKDF PRK (the root of every sender key)."""
    return [secret, kdf.extract(labels.ROOM_KEY_SALT, secret)]


class Evidence:
    """Everything the code under test showed the world."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.secrets: list[bytes] = []

    def error(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Runs func expecting a failure, and records everything the exception says."""
        try:
            func(*args, **kwargs)
        except Exception as error:  # ValueError from a misused constructor counts too
            self.exception(error)
        else:
            raise AssertionError(f"{func} did not fail")

    def exception(self, error: BaseException | None) -> None:
        while error is not None:
            self.texts += [str(error), repr(error), repr(error.args), *traceback.format_exception_only(error)]
            error = error.__cause__ or error.__context__

    def reprs(self, *objects: object) -> None:
        self.texts += [repr(o) for o in objects] + [str(o) for o in objects]

    def add_room_key(self, key: RoomKey) -> None:
        self.secrets += _derived(bytes(key))
        self.secrets += [cipher._key for cipher in key._senders.values()]

    def add_identity(self, identity: Identity) -> None:
        # libsodium's expanded key is seed || public key: only its first half is secret (rosters and
        # bundles show public keys on purpose)
        self.secrets += [identity._x25519_private(), identity._ed_seed, identity._signer._expanded[:32]]
        if identity._xwing_seed is not None:
            self.secrets.append(identity._xwing_seed)

    def check(self) -> None:
        haystack = "\n".join(self.texts)
        assert self.secrets and len(haystack) > 1000, "the search would find nothing: nothing was captured"
        for secret in self.secrets:
            for form in _forms(secret):
                assert form not in haystack, f"a secret leaked as {form!r}"


@pytest.fixture(name="evidence")
def _evidence(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Evidence]:
    caplog.set_level(logging.DEBUG)
    found = Evidence()
    yield found
    captured = capsys.readouterr()
    found.texts += [captured.out, captured.err, caplog.text]
    found.texts += [str(record.args) for record in caplog.records]
    found.check()


def _sentinel_identity(name: str, *, post_quantum: bool = False) -> Identity:
    tag = name.encode()[:4].ljust(4, b".")
    return Identity(name, x25519_private=SENTINEL_X25519[:-4] + tag, ed25519_seed=SENTINEL_ED25519[:-4] + tag,
                    xwing_seed=SENTINEL_KEY[:-4] + tag if post_quantum else None)


def test_the_search_finds_a_planted_leak() -> None:
    """The check is not vacuous: a secret printed in any of the forms is found."""
    for form in (SENTINEL_KEY.hex(), base64.urlsafe_b64encode(SENTINEL_KEY[8:16]).decode(), repr(SENTINEL_KEY)):
        planted = Evidence()
        planted.secrets = [SENTINEL_KEY]
        planted.texts = ["x" * 1000, f"error: bad key {form}"]
        with pytest.raises(AssertionError, match="leaked"):
            planted.check()


def test_messages_and_their_failures(evidence: Evidence) -> None:
    alice = _sentinel_identity("alice")
    key = RoomKey(SENTINEL_KEY, room_id=ROOM_ID, epoch=1)
    other = RoomKey(SENTINEL_KEY[::-1], room_id=ROOM_ID, epoch=1)
    message = seal(key, b"hello", message_id="m-1", sender=alice)
    opened = open_signed(key, message, sender=alice.public)
    tampered = bytearray(message.to_bytes())
    tampered[-70] ^= 1
    evidence.error(open_signed, key, bytes(tampered), sender=alice.public)
    evidence.error(open_signed, other, message, sender=alice.public)
    evidence.error(open_unsigned, key, message)
    evidence.error(SealedMessage.from_bytes, message.to_bytes()[:-100])
    evidence.error(SealedMessage.from_json, message.to_json().replace('"c":"', '"c":"!'))
    evidence.error(seal, key, bytes(70_000), message_id="m-2", sender=alice)
    evidence.error(seal, key, b"x", message_id="bad id", sender=alice)
    evidence.error(RoomKey, SENTINEL_KEY + b"!", room_id=ROOM_ID, epoch=1)
    evidence.error(RoomKey, SENTINEL_KEY, room_id="bad room", epoch=1)
    key._restore_sealed_count("alice", 1 << 32)
    evidence.error(seal, key, b"x", message_id="m-3", sender=alice)
    evidence.reprs(key, other, message, opened, alice, alice.public, alice._signer, key.sender_cipher("alice"))
    print(key, message, opened, alice)
    logging.getLogger("domvia_e2ee").debug("objects: %r %r %r", key, alice, message)
    evidence.add_room_key(key)
    evidence.add_room_key(other)
    evidence.add_identity(alice)


def test_key_rings_bundles_and_their_failures(evidence: Evidence) -> None:
    alice, bob, carol = (_sentinel_identity(n, post_quantum=True) for n in ("alice", "bob", "carol"))
    rings = {i.participant_id: KeyRing(i) for i in (alice, bob, carol)}
    for ring in rings.values():
        for i in (alice, bob, carol):
            if i is not ring.owner:
                ring.add_identity(i.public)
        ring.trust_admin(ROOM_ID, alice.public)
    room, first = Room.create(rings["alice"], ROOM_ID, [bob.public, carol.public])
    rings["bob"].accept(first.bundle.to_bytes())
    rings["carol"].accept(first.bundle.to_bytes())
    second = room.remove(["carol"])
    rings["bob"].accept(second.bundle.slice_for("bob").to_bytes())
    rings["bob"].accept(second.bundle.to_bytes())  # the roster, so bob can check senders
    message = rings["alice"].seal(ROOM_ID, b"secret plans", message_id="m-1")
    rings["bob"].open(message)
    evidence.error(rings["bob"].open, message)
    evidence.error(rings["carol"].open, message)  # epoch 2 not held yet
    evidence.error(rings["carol"].accept, second.bundle.slice_for("bob").to_bytes())
    rings["carol"].accept(second.bundle.to_bytes())  # a link: carol keeps the chain, holds no key
    evidence.error(rings["carol"].open, message)  # not a member then
    evidence.error(rings["carol"].seal, ROOM_ID, b"still here")
    evidence.error(rings["bob"].accept, first.bundle.to_bytes())
    evidence.error(rings["bob"].accept, MemberProofFile(ROOM_ID, 3, second.bundle.proof_for("alice")).to_bytes())
    evidence.error(rings["bob"].accept, second.bundle.to_bytes()[:-3])
    header = second.bundle.header
    for name, owner in (("bob", carol), ("carol", bob)):
        leaf = second.bundle.members[second.bundle.index_of("alice") or 0]
        evidence.error(unwrap, owner, leaf.wrapped, kem=header.kem, suite=header.suite, room_id=ROOM_ID,
                       epoch=header.epoch, key_id=header.key_id)
        evidence.reprs(name)
    evidence.error(wrap, room.keyring.record(ROOM_ID, 2).key, _sentinel_identity("dave").public,
                   WrapKem.MLKEM768_X25519)
    evidence.error(Identity, "x", x25519_private=SENTINEL_X25519 + b"!", ed25519_seed=SENTINEL_ED25519)
    state = keyring_to_plaintext(rings["bob"])
    broken = json.loads(json.dumps(state))
    broken["rooms"][ROOM_ID][0]["secret"] = base64.urlsafe_b64encode(SENTINEL_KEY + b"!!").decode().rstrip("=")
    evidence.error(keyring_from_plaintext, broken, bob)
    broken["rooms"][ROOM_ID][0]["secret"] = list(SENTINEL_KEY)
    evidence.error(keyring_from_plaintext, broken, bob)
    evidence.error(keyring_from_plaintext, state, carol)
    private = alice.to_plaintext_private_dict()
    evidence.error(Identity.from_private_dict, dict(private, x25519=private["x25519"] + "A"))
    evidence.error(Identity.from_private_dict, dict(private, ed25519=private["x25519"], extra=private["ed25519"]))
    evidence.reprs(*rings.values(), room, first, second, second.bundle, second.announcement(),
                   *(rings["bob"].record(ROOM_ID, e) for e in rings["bob"].epochs(ROOM_ID)))
    for ring in rings.values():
        for epoch in ring.epochs(ROOM_ID):
            key = ring.record(ROOM_ID, epoch).key
            if key is not None:
                evidence.add_room_key(key)
    for identity in (alice, bob, carol):
        evidence.add_identity(identity)


def test_key_files_and_their_failures(evidence: Evidence, tmp_path: Path) -> None:
    alice = _sentinel_identity("alice")
    path = tmp_path / "alice.id"
    path.write_bytes(storage.dump_identity(alice, passphrase=b"correct horse", cost=storage.MIN_COST))
    path.chmod(0o600)
    stored = storage.load_identity(path, lambda: b"correct horse")
    evidence.error(storage.load_identity, path, lambda: b"wrong horse")
    evidence.error(storage.load_identity, path)
    ring = KeyRing(alice)
    Room.create(ring, ROOM_ID, [])
    ring_path = tmp_path / "alice.keyring"
    ring_path.write_bytes(storage.dump_keyring(ring, stored))
    ring_path.chmod(0o600)
    evidence.error(storage.load_keyring, ring_path, storage.StoredIdentity(alice, path, bytes(32)))
    ring_path.chmod(0o644)
    evidence.error(storage.load_keyring, ring_path, stored)
    evidence.reprs(stored, stored.keyring_cipher())
    evidence.secrets.append(stored._keyring_key or b"")
    evidence.add_identity(alice)
    evidence.add_room_key(ring.record(ROOM_ID, 1).key)  # type: ignore[arg-type]


class _RecordingOs:
    """os with urandom replaced: hands out sentinel-derived secrets and remembers each one."""

    def __init__(self, handed: list[bytes]) -> None:
        self._handed = handed

    def urandom(self, size: int) -> bytes:
        value = hashlib.shake_256(SENTINEL_KEY + len(self._handed).to_bytes(4, "big")).digest(size)
        self._handed.append(value)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def test_cli_output_and_errors(evidence: Evidence, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[bytes] = []
    for module in (identity_module, keys_module, storage.identity_file):
        monkeypatch.setattr(module, "os", _RecordingOs(handed))
    monkeypatch.setenv("DOMVIA_TEST_PASSPHRASE", "correct horse")
    monkeypatch.chdir(tmp_path)

    def cli(*argv: str) -> int:
        return cli_main(list(argv))

    enc = ["--passphrase-env", "DOMVIA_TEST_PASSPHRASE"]
    assert cli("identity", "new", "--id", "alice", "-o", "alice.id", "--public-out", "alice.pub", "--encrypt",
               "--kdf-cost", "low", *enc) == 0
    assert cli("identity", "new", "--id", "bob", "-o", "bob.id", "--public-out", "bob.pub") == 0
    assert cli("--json", "identity", "show", "alice.id", *enc) == 0
    assert cli("room", "create", "-I", "alice.id", *enc, "--state", "room.state", "--room", ROOM_ID,
               "--member", "bob.pub", "--bundle-out", "b1.bin") == 0
    assert cli("keyring", "accept", "-I", "bob.id", "--room", ROOM_ID, "--admin", "alice.pub", "b1.bin") == 0
    Path("hello.txt").write_bytes(b"hello bob")
    assert cli("seal", "-I", "alice.id", *enc, "--room", ROOM_ID, "-i", "hello.txt", "-o", "m1.json") == 0
    assert cli("--json", "open", "-I", "bob.id", "-i", "m1.json") == 0
    # Failures: replay, tampering, wrong passphrase, a key ring that is not the identity's, usage errors.
    assert cli("open", "-I", "bob.id", "-i", "m1.json") != 0
    tampered = json.loads(Path("m1.json").read_bytes())
    tampered["m"] = "other-id"
    Path("m2.json").write_text(json.dumps(tampered))
    assert cli("--json", "open", "-I", "bob.id", "-i", "m2.json") != 0
    monkeypatch.setenv("DOMVIA_TEST_PASSPHRASE", "wrong horse")
    assert cli("seal", "-I", "alice.id", *enc, "--room", ROOM_ID, "-i", "hello.txt") != 0
    assert cli("--debug", "open", "-I", "bob.id", "-k", "alice.id.keyring", "-i", "m1.json") != 0
    assert cli("identity", "show", "alice.id", *enc) != 0
    assert cli("room", "rotate", "-I", "bob.id", "--state", "room.state") != 0
    evidence.secrets += [value for value in handed if len(value) >= 16]
    evidence.secrets += [kdf.extract(labels.ROOM_KEY_SALT, value) for value in handed if len(value) == 32]
    assert len(handed) >= 6
