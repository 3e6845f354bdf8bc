"""Saving and loading a key ring from Python, with the command line's guarantees (spec/files.md).

A key ring file is encrypted at rest exactly when its identity file is, under a key that only that
identity file's passphrase unlocks, so saving and loading take the identity file. Writes are atomic
(temp file, fsync, rename, directory fsync) and mode 0600; a failed call changes no file. For the
identity itself use Identity.save() and Identity.load().
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError
from .group.keyring import KeyRing


def _stored(identity_file: str | os.PathLike[str], passphrase: bytes | None) -> object:
    from . import storage  # storage imports the group layer: load it only when a file is touched

    if passphrase is not None and not isinstance(passphrase, bytes):
        raise UsageError(f"passphrase must be bytes or None, not {type(passphrase).__name__}")
    given = passphrase
    return storage.load_identity(Path(identity_file), None if given is None else lambda: given)


def save_keyring(ring: KeyRing, path: str | os.PathLike[str], *, identity_file: str | os.PathLike[str],
                 passphrase: bytes | None = None) -> None:
    """Writes ring to path, encrypted when identity_file is (then passphrase unlocks it), replacing the
    previous key ring file atomically. Raises storage.FileError: E_AUTH for a wrong passphrase, E_POLICY
    for an identity file that is not ring's owner's or is readable by others, E_IO for the file system."""
    from . import storage

    owner = _stored(identity_file, passphrase)
    assert isinstance(owner, storage.StoredIdentity)
    if owner.identity.public != ring.owner.public:
        raise storage.FileError(str(identity_file), "is not the identity of this key ring's owner",
                                code="E_POLICY")
    storage.commit_keyring(Path(path), ring, owner, new=not os.path.lexists(path))


def load_keyring(path: str | os.PathLike[str], *, identity_file: str | os.PathLike[str],
                 passphrase: bytes | None = None) -> KeyRing:
    """Reads a key ring file written by save_keyring() or the command line. Raises storage.FileError naming
    the file: E_AUTH (wrong passphrase, modified file, or another identity's key ring), E_POLICY, E_FORMAT,
    E_IO. Nothing is written."""
    from . import storage

    owner = _stored(identity_file, passphrase)
    assert isinstance(owner, storage.StoredIdentity)
    return storage.load_keyring(Path(path), owner)
