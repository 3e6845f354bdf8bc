"""How storage failures are reported: one FileError naming the file, its code that of the cause."""

from __future__ import annotations

from pathlib import Path

from ..errors import AuthenticationError, DomviaError, PolicyError


class FileError(DomviaError):
    """A file could not be read, parsed, decrypted or written. Names the file; may carry a hint."""

    def __init__(self, path: Path | str, reason: str, *, code: str = "E_FORMAT", hint: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.code = code
        self.hint = hint
        super().__init__(f"{path}: {reason}")


def _os_error(path: Path | str, error: OSError) -> FileError:
    return FileError(path, error.strerror or str(error), code="E_IO")


class OutputError(FileError):
    """The change is committed (key ring and state are durable) but writing an output failed."""


def _refusal(reason: str, *, code: str = PolicyError.code, hint: str | None = None) -> FileError:
    # A FileError whose path the loader fills in: helpers below do not know which file they check.
    return FileError("", reason, code=code, hint=hint)


def _wrap(path: Path | str, error: DomviaError, what: str) -> FileError:
    if isinstance(error, FileError):
        return error if error.path else FileError(path, error.reason, code=error.code, hint=error.hint)
    if isinstance(error, AuthenticationError):
        return FileError(path, "wrong passphrase, or the file was modified", code=error.code,
                         hint="check the passphrase; a modified file cannot be repaired, restore it from a backup")
    return FileError(path, f"not a valid {what}: {error}", code=error.code)
