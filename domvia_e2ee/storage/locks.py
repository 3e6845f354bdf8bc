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
    """Holds an exclusive flock on PATH.lock (kept, never deleted: deleting lock files races)."""
    target = Path(path).resolve()
    lock_path = target.with_name(target.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE)
    except OSError as error:
        raise _os_error(lock_path, error) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        _remove_stale_temps(target)
        yield
    finally:
        os.close(fd)


def _remove_stale_temps(target: Path) -> None:
    """Only lock holders write temp files of target, so any found now were left by a crash."""
    for temp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if re.fullmatch(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp", temp.name):
            with contextlib.suppress(OSError):
                temp.unlink()
