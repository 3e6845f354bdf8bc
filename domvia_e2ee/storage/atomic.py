"""Atomic writes: a complete, fsynced temp file (or directory) beside the target, then one rename.

A reader sees the old file or the new one, never a mix. A failed or interrupted write (any exception,
KeyboardInterrupt included) removes its temp file or folder before the exception goes on.

A temp `.NAME.HEX.tmp` is flock(2)ed by its writer for as long as it exists. One that a process
killed outright (SIGKILL, power loss) left behind is no longer locked: the next write of the same
target removes it (`sweep_stale`), once it is STALE_AFTER seconds old (a younger one may be a
concurrent writer's, between creating and locking it).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import signal
import stat
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from .errors import FileError, _os_error

PRIVATE_MODE: Final = 0o600
PUBLIC_MODE: Final = 0o644
PARALLEL_WRITES: Final = 32
WRITERS: Final = 16
STALE_AFTER: Final = 10.0
DEFERRED_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

_committed: collections.deque[tuple[int, Path]] = collections.deque(maxlen=64)
_commits = 0


def commit_count() -> int:
    """How many files and folders this process has renamed into place (for "what did it change")."""
    return _commits


def committed_since(mark: int) -> list[Path]:
    """The targets renamed into place after commit_count() was `mark` (the latest 64 at most)."""
    return [path for number, path in _committed if number > mark]


def record_commit(path: Path) -> None:
    """Notes that path was renamed into place (for writers outside this module, like attachments)."""
    _record(path)


def _record(path: Path) -> None:
    global _commits
    _commits += 1
    _committed.append((_commits, path))


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP arriving inside wait until its end (then are delivered as usual)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _hold(path: Path) -> int | None:
    """Opens and flocks a temp this process just created: a sweeper then knows its writer is alive.

    Best effort: on a file system without flock (some network and FUSE mounts) the write goes on
    unlocked, protected from sweepers by STALE_AFTER alone.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def sweep_stale(target: Path | str, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Removes the temps `.NAME.HEX.tmp` of target (files or folders) that no live writer holds.

    Best effort: what cannot be removed stays. Returns what was removed.
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp")
    prefix = f".{target.name}."
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(target.parent) if e.name.startswith(prefix) and pattern.fullmatch(e.name)]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if now - info.st_mtime < older_than:
                continue
            path = Path(entry.path)
            if stat.S_ISLNK(info.st_mode):
                path.unlink()
                removed.append(path)
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is alive
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
            finally:
                os.close(fd)
    return removed


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


class _HeldTemp:
    """A temp file or folder whose writer holds a lock on it while it exists (sweep_stale spares it)."""

    _fd: int | None = None

    def _release(self) -> None:
        _release(self._fd)
        self._fd = None

    def __del__(self) -> None:
        _release(getattr(self, "_fd", None))


class Staged(_HeldTemp):
    """A complete, fsynced temp file beside its target, waiting to be renamed into place."""

    def __init__(self, path: Path | str, data: bytes, *, mode: int = PRIVATE_MODE, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.exclusive = exclusive
        self.temp = _temp_beside(self.path)
        # True from the moment the rename (or link) has happened, even if the directory fsync then fails.
        self.in_place = False
        self._fd: int | None = None
        if self.path.is_dir():
            raise FileError(self.path, "is a directory", code="E_IO")
        sweep_stale(self.path)
        try:
            _write_new(self.temp, data, mode)
            self._fd = _hold(self.temp)
        except BaseException as error:  # an interruption too: no temp file is left behind
            self.discard()
            if isinstance(error, OSError):
                raise _os_error(self.path, error) from None
            raise

    def commit(self) -> None:
        """Renames into place (never over an existing file when exclusive), then fsyncs the directory."""
        try:
            with signals_deferred():  # renamed and recorded as such, or neither
                if self.exclusive:
                    self._link_exclusive()
                else:
                    os.replace(self.temp, self.path)
                    self.in_place = True
                    _record(self.path)
            fsync_directory(self.path.parent)
        except BaseException as error:
            self.discard()
            if isinstance(error, OSError):
                raise _os_error(self.path, error) from None
            raise
        finally:
            self._release()

    def _link_exclusive(self) -> None:
        # link(2) fails if the target exists: creation and "never overwrite" in one atomic step.
        try:
            os.link(self.temp, self.path)
        except FileExistsError:
            self.discard()
            raise FileError(self.path, "already exists; refusing to overwrite it", code="E_IO",
                            hint="choose another file name, or move the existing file away first") from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
                raise
            self._reserve_then_replace()
            return
        self.in_place = True
        _record(self.path)
        os.unlink(self.temp)

    def _reserve_then_replace(self) -> None:
        # No hard links here (some FUSE and FAT file systems): claim the name with O_EXCL, then replace it.
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_MODE))
        except FileExistsError:
            self.discard()
            raise FileError(self.path, "already exists; refusing to overwrite it", code="E_IO") from None
        os.replace(self.temp, self.path)
        self.in_place = True
        _record(self.path)

    def discard(self) -> None:
        """Removes the temp file (never the target): safe to call at any time, more than once."""
        with contextlib.suppress(OSError):
            self.temp.unlink(missing_ok=True)
        self._release()



class StagedDirectory(_HeldTemp):
    """A directory of files built under a temp name and renamed into place in one step."""

    def __init__(self, path: Path | str, files: dict[str, bytes], *, mode: int = PUBLIC_MODE) -> None:
        self.path = Path(path)
        self.temp = _temp_beside(self.path)
        self._fd: int | None = None
        sweep_stale(self.path)
        if os.path.lexists(self.path) and not _is_empty_directory(self.path):
            raise _not_empty(self.path)
        try:
            os.mkdir(self.temp, 0o700)
            self._fd = _hold(self.temp)
            _write_many(self.temp, files, mode)
            os.chmod(self.temp, 0o755 if mode & 0o044 else 0o700)
            fsync_directory(self.temp)
        except BaseException as error:  # an interruption too: no temp folder is left behind
            self.discard()
            if isinstance(error, OSError):
                raise _os_error(self.path, error) from None
            raise

    def commit(self) -> None:
        """rename(2) replaces the target only if it is missing or an empty directory."""
        try:
            with signals_deferred():
                os.rename(self.temp, self.path)
                _record(self.path)
            fsync_directory(self.path.parent)
        except BaseException as error:
            self.discard()
            if isinstance(error, OSError):
                if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise _not_empty(self.path) from None
                raise _os_error(self.path, error) from None
            raise
        finally:
            self._release()

    def discard(self) -> None:
        """Removes the temp folder (never the target): safe to call at any time, more than once."""
        shutil.rmtree(self.temp, ignore_errors=True)
        self._release()



def _write_many(directory: Path, files: dict[str, bytes], mode: int) -> None:
    """Many small files (one slice per member): concurrent fsyncs share journal commits, about 20 times faster."""
    if len(files) < PARALLEL_WRITES:
        for name, data in files.items():
            _write_new(directory / name, data, mode)
        return
    pool = ThreadPoolExecutor(WRITERS)
    try:
        for done in [pool.submit(_write_new, directory / name, data, mode) for name, data in files.items()]:
            done.result()
    finally:
        # On an error or Ctrl-C: drop the writes not started, wait for the running ones, so that nothing
        # writes into the folder once the caller removes it.
        pool.shutdown(wait=True, cancel_futures=True)


def _is_empty_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _not_empty(path: Path) -> FileError:
    return FileError(path, "exists and is not an empty directory", code="E_IO", hint="name a new or empty directory")


def write_atomic(path: Path | str, data: bytes, *, mode: int = PRIVATE_MODE, exclusive: bool = False) -> None:
    Staged(path, data, mode=mode, exclusive=exclusive).commit()


def commit_all(staged: Sequence[Staged | StagedDirectory], *,
               rest: Sequence[Staged | StagedDirectory] = ()) -> None:
    """Commits in order; on the first failure discards the others and `rest`: no stray temp file remains."""
    for index, item in enumerate(staged):
        try:
            item.commit()
        except BaseException:
            discard_all([*staged[index + 1:], *rest])
            raise


def discard_all(staged: Sequence[Staged | StagedDirectory]) -> None:
    for item in staged:
        item.discard()
