"""Loading what a command acts as: the identity, its key ring (locked), public identity files.

Every error names the file it concerns.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .. import storage
from ..errors import DomviaError
from ..identity import PublicIdentity
from ..group.keyring import KeyRing
from ..storage import FileError, StoredIdentity
from .io import Passphrases, add_passphrase_options, note

MAX_PUBLIC_IDENTITY: Final = 8192


def add_identity_options(parser: argparse.ArgumentParser, *, keyring: bool = True) -> None:
    parser.add_argument("-I", "--identity", metavar="FILE", required=True, help="your private identity file")
    if keyring:
        parser.add_argument("-k", "--keyring", metavar="FILE",
                            help="your key ring file (default: the identity file's name with suffix .keyring)")
    add_passphrase_options(parser)


def keyring_path(args: argparse.Namespace) -> Path:
    if getattr(args, "keyring", None):
        return Path(args.keyring)
    identity = Path(args.identity)
    path = identity.with_suffix(".keyring")
    return path if path != identity else identity.with_name(identity.name + ".keyring")


def load_identity(args: argparse.Namespace) -> StoredIdentity:
    return storage.load_identity(args.identity, Passphrases(args).existing(args.identity))


def read_public(path: str | Path) -> PublicIdentity:
    data = storage.read_file(path, limit=MAX_PUBLIC_IDENTITY)
    with concerning(path, "not a public identity file: "):
        return PublicIdentity.from_json(data)


@contextlib.contextmanager
def concerning(path: str | Path, prefix: str = "") -> Iterator[None]:
    """Re-raises library errors as FileErrors naming path, keeping their code."""
    try:
        yield
    except FileError:
        raise
    except DomviaError as error:
        wrapped = FileError(path, f"{prefix}{error}", code=error.code, hint=getattr(error, "hint", None))
        wrapped.unreadable = getattr(error, "unreadable", None)  # type: ignore[attr-defined]
        raise wrapped from None


@dataclass
class Session:
    """The identity and key ring a command acts as, with the key ring's lock held."""

    owner: StoredIdentity
    path: Path
    ring: KeyRing
    new: bool

    def commit(self, outputs: list[storage.Staged | storage.StagedDirectory] | None = None) -> None:
        storage.commit_keyring(self.path, self.ring, self.owner, new=self.new, outputs=outputs or [])


def locked(path: str | Path) -> contextlib.AbstractContextManager[None]:
    """storage.locked, saying on stderr when it has to wait for another process."""
    return storage.locked(path, on_wait=lambda: note(f"waiting for another domvia-e2ee to release {path}"))


@contextlib.contextmanager
def keyring_session(args: argparse.Namespace, *, create: bool = False,
                    owner: StoredIdentity | None = None) -> Iterator[Session]:
    """Loads the identity (asking for its passphrase first), then locks and loads the key ring."""
    owner = owner or load_identity(args)
    path = keyring_path(args)
    with locked(path):
        if create:
            ring, new = storage.load_or_new_keyring(path, owner)
        elif not os.path.lexists(path):
            raise FileError(path, "does not exist", code="E_IO",
                            hint="a key ring is created by `keyring accept` or `room create`; or pass -k FILE")
        else:
            ring, new = storage.load_keyring(path, owner), False
        yield Session(owner, path, ring, new)
