"""Reading a file with a size limit, and the ssh-like check that a private file is ours alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import PolicyError
from .errors import FileError, _os_error


def read_file(path: Path | str, *, limit: int, private: bool = False) -> bytes:
    """Reads a regular file of at most limit bytes; private files must be 0600-like and ours."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise _os_error(path, error) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileError(path, "not a regular file", code="E_IO")
        if private:
            check_private(path, info)
        if info.st_size > limit:
            raise FileError(path, f"larger than {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise _os_error(path, error) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileError(path, f"larger than {limit} bytes")
    return data


def check_private(path: Path | str, info: os.stat_result) -> None:
    """Like ssh: a private file readable by group or others, or owned by someone else, is refused."""
    if info.st_mode & 0o077:
        raise FileError(path, f"permissions {stat.S_IMODE(info.st_mode):04o} are too open: "
                        "a private key or key ring file must not be accessible by group or others",
                        code=PolicyError.code, hint=f"chmod 600 {path}")
    if info.st_uid != os.geteuid():
        raise FileError(path, "owned by another user; refusing to use it as a private file",
                        code=PolicyError.code, hint=f"the file must belong to user id {os.geteuid()}")
