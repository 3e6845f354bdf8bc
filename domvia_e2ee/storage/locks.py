"""`locked(path)` serializes writers with flock(2) on a sidecar `PATH.lock` file."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from .atomic import PRIVATE_MODE
from .errors import _os_error


@contextlib.contextmanager
def locked(path: Path | str, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Holds an exclusive flock on PATH.lock while the block runs.

    The lock file stays while PATH exists. When PATH does not exist at the end (a failed or refused
    creation), its holder deletes the lock file, so that no `.lock` is left for a file that is not
    there. That is safe because every locker checks, once it holds the flock, that PATH.lock still
    names the file it locked, and starts again if it was deleted or replaced meanwhile.
    """
    target = Path(path).resolve()
    lock_path = target.with_name(target.name + ".lock")
    fd = _lock(lock_path, on_wait)
    try:
        _remove_stale_temps(target)
        yield
    finally:
        try:
            if not os.path.lexists(target):
                with contextlib.suppress(OSError):
                    lock_path.unlink()
        finally:
            os.close(fd)


def _lock(lock_path: Path, on_wait: Callable[[], None] | None) -> int:
    waited = False
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_MODE)
        except OSError as error:
            raise _os_error(lock_path, error) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None and not waited:
                    on_wait()
                waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _names(lock_path, fd):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # deleted by its last holder while this process waited: lock the new one


def _names(lock_path: Path, fd: int) -> bool:
    try:
        now = os.stat(lock_path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _remove_stale_temps(target: Path) -> None:
    """Only lock holders write temp files of target, so any found now were left by a crash."""
    for temp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if re.fullmatch(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp", temp.name):
            with contextlib.suppress(OSError):
                temp.unlink()
