"""Mutation gaps: properties the other tests could not see change.

- The owner check on private files (spec/files.md#reading-a-private-file): a 0600 file of another user.
- fsync (spec/files.md#writing-a-file): dropping the file's or the directory's fsync changed no test's outcome.
- Constant-time comparison of the Merkle root and of the attachment commitment and digest: `==` instead of
  hmac.compare_digest changed no test's outcome.
"""

from __future__ import annotations

import hmac
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from domvia_e2ee import storage
from domvia_e2ee.attachment import open_stream, seal_stream
from domvia_e2ee.attachment_stream import HEADER_SIZE, StreamKey
from domvia_e2ee.errors import AuthenticationError, DomviaError
from domvia_e2ee.hazmat import merkle
from domvia_e2ee.identity import Identity
from domvia_e2ee import KeyRing, Room
from domvia_e2ee.storage import StoredIdentity

NOBODY = 65534


def _identity(name: str, n: int) -> Identity:
    return Identity(name, x25519_private=bytes([n]) * 32, ed25519_seed=bytes([n + 100]) * 32)


def _identity_file(tmp_path: Path) -> Path:
    path = tmp_path / "alice.id"
    storage.write_atomic(path, storage.dump_identity(_identity("alice", 1)), exclusive=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path


# -- the owner check -------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_0600_identity_file_of_another_user_does_not_load(tmp_path: Path) -> None:
    path = _identity_file(tmp_path)
    assert storage.load_identity(path).identity.participant_id == "alice"  # ours: loads
    os.chown(path, NOBODY, -1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == NOBODY
    with pytest.raises(storage.FileError) as caught:
        storage.load_identity(path)
    assert caught.value.code == "E_POLICY" and "owned by another user" in str(caught.value)


def test_the_owner_check_compares_with_the_effective_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check without root: the file is ours, the process claims to be someone else."""
    path = _identity_file(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: path.stat().st_uid + 1)
    with pytest.raises(storage.FileError) as caught:
        storage.load_identity(path)
    assert caught.value.code == "E_POLICY" and "owned by another user" in str(caught.value)


# -- fsync -----------------------------------------------------------------------------------------


def _spy_fsync(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Records every os.fsync as (kind, path at the time of the call), kind "file" or "dir"."""
    calls: list[tuple[str, str]] = []
    real = os.fsync

    def spy(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        calls.append((kind, os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return calls


def _temp_of(target: Path, path: str) -> bool:
    name = Path(path).name
    return Path(path).parent == target.parent and name.startswith(f".{target.name}.") and name.endswith(".tmp")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the fsynced descriptors")
@pytest.mark.parametrize("exclusive", [False, True])
def test_an_atomic_write_fsyncs_the_file_then_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           exclusive: bool) -> None:
    target = tmp_path / "state"
    calls = _spy_fsync(monkeypatch)
    storage.write_atomic(target, b"new contents\n", exclusive=exclusive)
    assert target.read_bytes() == b"new contents\n"
    files = [i for i, (kind, path) in enumerate(calls) if kind == "file" and _temp_of(target, path)]
    dirs = [i for i, (kind, path) in enumerate(calls) if kind == "dir" and Path(path) == tmp_path]
    assert files, calls  # the temp file's bytes are on disk before the rename
    assert dirs and dirs[-1] > files[-1], calls  # and the rename is, after it


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the fsynced descriptors")
def test_a_rotation_fsyncs_every_file_and_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = _identity("alice", 1), _identity("bob", 2)
    identity_path = tmp_path / "alice.id"
    storage.write_atomic(identity_path, storage.dump_identity(alice), exclusive=True)
    owner = storage.load_identity(identity_path)
    assert isinstance(owner, StoredIdentity)
    room, rotation = Room.create(KeyRing(alice), "room-1", [bob.public])
    state, ring = tmp_path / "room-1.state", tmp_path / "alice.keyring"
    calls = _spy_fsync(monkeypatch)
    storage.commit_rotation(state, ring, owner, room, rotation.bundle.to_bytes(), before=None)
    assert state.is_file() and ring.is_file()
    for target in (state, ring):
        assert any(kind == "file" and _temp_of(target, path) for kind, path in calls), (target, calls)
    last_file = max(i for i, (kind, _) in enumerate(calls) if kind == "file")
    assert any(kind == "dir" and Path(path) == tmp_path for kind, path in calls[last_file + 1:]), calls


# -- constant-time comparisons ---------------------------------------------------------------------


def _spy_compare(monkeypatch: pytest.MonkeyPatch, answer: bool | None = None) -> list[tuple[bytes, bytes]]:
    """Records hmac.compare_digest's arguments; with answer set, returns it instead of comparing."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b) if answer is None else answer

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def _proof() -> tuple[bytes, int, int, list[bytes], bytes]:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(5)]
    tree = merkle.Tree(leaves)
    return leaves[3], 3, 5, tree.path(3), tree.root


def test_the_merkle_root_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    leaf, index, size, path, root = _proof()
    calls = _spy_compare(monkeypatch)
    assert merkle.verify_inclusion(leaf, index, size, path, root)
    assert calls == [(root, root)]
    _spy_compare(monkeypatch, answer=False)  # the answer is compare_digest's, not another comparison's
    assert not merkle.verify_inclusion(leaf, index, size, path, root)


def _attachment() -> tuple[Any, bytes]:
    stream = seal_stream([b"attachment bytes " * 20], chunk_size=64)
    blob = b"".join(stream)
    return stream.reference, blob


def test_the_attachment_commitment_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    reference, blob = _attachment()
    header = blob[:HEADER_SIZE]
    calls = _spy_compare(monkeypatch)
    StreamKey.open_header(reference.file_key, header)
    assert [c for c in calls if c[1] == header[-32:]] == [(header[-32:], header[-32:])]
    _spy_compare(monkeypatch, answer=False)
    with pytest.raises(AuthenticationError):
        StreamKey.open_header(reference.file_key, header)


def test_the_attachment_root_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    reference, blob = _attachment()
    calls = _spy_compare(monkeypatch)
    assert b"".join(open_stream(reference, io.BytesIO(blob))) == b"attachment bytes " * 20
    assert (reference.root, reference.root) in calls
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False if bytes(b) == reference.root else real(a, b))
    with pytest.raises(DomviaError):
        b"".join(open_stream(reference, io.BytesIO(blob)))
