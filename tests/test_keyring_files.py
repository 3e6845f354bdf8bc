"""The documented encrypted save and load of a key ring from Python (issue: saving from Python was
plaintext only): 0600, atomic, encrypted exactly when the identity file is, refused for another identity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from domvia_e2ee import Identity, KeyRing, Room, load_keyring, save_keyring, storage


def _ring(tmp_path: Path, *, passphrase: bytes | None) -> tuple[KeyRing, Path]:
    alice = Identity.generate("alice")
    alice.save(tmp_path / "alice.id", passphrase=passphrase, cost="low")
    ring = KeyRing(alice)
    Room.create(ring, "room-1", [Identity.generate("bob").public])
    return ring, tmp_path / "alice.id"


def test_an_encrypted_key_ring_round_trips_and_never_shows_its_key(tmp_path: Path) -> None:
    ring, identity_file = _ring(tmp_path, passphrase=b"correct horse")
    save_keyring(ring, tmp_path / "alice.keyring", identity_file=identity_file, passphrase=b"correct horse")
    data = (tmp_path / "alice.keyring").read_bytes()
    assert oct(os.stat(tmp_path / "alice.keyring").st_mode & 0o777) == "0o600"
    assert bytes(ring.record("room-1", 1).key).hex().encode() not in data and b'"ciphertext"' in data
    loaded = load_keyring(tmp_path / "alice.keyring", identity_file=identity_file, passphrase=b"correct horse")
    assert loaded.record("room-1", 1).key == ring.record("room-1", 1).key
    with pytest.raises(storage.FileError) as wrong:
        load_keyring(tmp_path / "alice.keyring", identity_file=identity_file, passphrase=b"wrong")
    assert wrong.value.code == "E_AUTH"


def test_a_key_ring_is_not_saved_under_another_identity_and_nothing_is_written(tmp_path: Path) -> None:
    ring, _ = _ring(tmp_path, passphrase=None)
    Identity.generate("alice").save(tmp_path / "other.id", passphrase=None)
    with pytest.raises(storage.FileError) as refused:
        save_keyring(ring, tmp_path / "alice.keyring", identity_file=tmp_path / "other.id")
    assert refused.value.code == "E_POLICY" and not (tmp_path / "alice.keyring").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.id", "other.id"]
