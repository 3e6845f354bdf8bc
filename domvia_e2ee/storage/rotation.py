"""Committing a change durably: the rotation journal (pending state, key ring, committed state,
outputs) and the key ring save, with Ctrl-C and SIGTERM deferred while the renames run."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..group.keyring import KeyRing
from ..group.room import Room
from .atomic import Staged, StagedDirectory, commit_all, discard_all, write_atomic
from .errors import FileError, OutputError
from .identity_file import StoredIdentity
from .json_file import MAX_STATE_BYTES
from .keyring_file import stage_keyring
from .reading import read_file
from .room_file import NOTHING_COMMITTED, dump_room_state


def commit_rotation(state_path: Path | str, keyring_path: Path | str, owner: StoredIdentity, room: Room,
                    bundle: bytes, *, before: dict[str, Any] | None,
                    outputs: Sequence[Staged | StagedDirectory] = ()) -> None:
    """Makes a rotation durable: (1) state with the change pending, (2) key ring, (3) committed state, (4) outputs.

    `before` is RoomState.snapshot() taken before the change, or None for a new room. Every
    file is staged (written and fsynced) before the first rename, so most failures change
    nothing. A crash after (1) rolls back on load, after (2) rolls forward. A failure in (2)
    restores the previous state file; a failure after (2) raises OutputError: the change stands.
    """
    state_path = Path(state_path)
    original = read_file(state_path, limit=MAX_STATE_BYTES) if os.path.lexists(state_path) else None
    staged: list[Staged] = []
    try:
        staged.append(Staged(state_path, dump_room_state(room, bundle, before=before or NOTHING_COMMITTED),
                             exclusive=original is None))
        staged.append(stage_keyring(keyring_path, room.keyring, owner, new=not os.path.lexists(keyring_path)))
        staged.append(Staged(state_path, dump_room_state(room, bundle)))
    except BaseException:
        discard_all([*staged, *outputs])
        raise
    pending, keyring, final = staged
    _commit_journaled(state_path, original, pending, keyring, [final, *outputs])


def _commit_journaled(state_path: Path, original: bytes | None, pending: Staged, keyring: Staged,
                      rest: Sequence[Staged | StagedDirectory]) -> None:
    with _signals_deferred():
        commit_all([pending], rest=[keyring, *rest])
        late: FileError | None = None
        try:
            keyring.commit()
        except FileError as error:
            if not keyring.in_place:
                discard_all(rest)
                _restore(state_path, original)
                raise
            late = error  # renamed, but the directory fsync failed: the change stands, finish it
        _finish(rest, late)


def _finish(staged: Sequence[Staged | StagedDirectory], late: FileError | None) -> None:
    try:
        commit_all(staged)
    except FileError as error:
        late = error
    if late is not None:
        raise OutputError(late.path, f"{late.reason} (the change itself is committed)", code=late.code,
                          hint=late.hint)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM during the renames waits until they are done (a SIGKILL is what recovery is for)."""
    signals = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _restore(state_path: Path, original: bytes | None) -> None:
    """Best effort: the pending state already loads as the previous one, this only tidies the bytes."""
    with contextlib.suppress(OSError, FileError):
        if original is None:
            state_path.unlink()
        else:
            write_atomic(state_path, original)


def commit_keyring(keyring_path: Path | str, ring: KeyRing, owner: StoredIdentity, *, new: bool = False,
                   outputs: Sequence[Staged | StagedDirectory] = ()) -> None:
    """Saves a key ring, then renames the outputs into place (raising OutputError if one fails)."""
    try:
        staged = stage_keyring(keyring_path, ring, owner, new=new)
    except BaseException:
        discard_all(outputs)
        raise
    with _signals_deferred():
        late: FileError | None = None
        try:
            staged.commit()
        except FileError as error:
            if not staged.in_place:
                discard_all(outputs)
                raise
            late = error
        _finish(outputs, late)
