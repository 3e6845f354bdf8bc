"""What the attachment APIs read from and write to: files, pipes, iterators of bytes, and progress."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Protocol


DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
"""The content type recorded in a reference when the caller gives none."""
Progress = Callable[[int], None]


class Readable(Protocol):
    """A binary file or pipe: anything with `read(size)` returning bytes (b"" at the end)."""

    def read(self, size: int, /) -> bytes:
        """Up to size bytes; b"" at the end."""
        ...


class Writable(Protocol):
    """A binary file or buffer: anything with `write(data)`."""

    def write(self, data: bytes, /) -> object:
        """Writes all of data."""
        ...


Source = Readable | Iterable[bytes]


class _Source:
    """Reads exactly n bytes (fewer only at the end) from a binary file, a pipe or an iterable of pieces."""

    __slots__ = ("_pieces", "_read", "_view")

    def __init__(self, source: Source) -> None:
        self._read = source.read if hasattr(source, "read") else None
        self._pieces = None if self._read is not None else iter(source)  # type: ignore[arg-type]
        self._view = memoryview(b"")

    def take(self, n: int) -> bytes:
        return self._take_file(n) if self._read is not None else self._take_pieces(n)

    def _take_file(self, n: int) -> bytes:
        assert self._read is not None
        data = self._read(n)
        if len(data) == n or not data:
            return data
        parts, have = [data], len(data)
        while have < n and (more := self._read(n - have)):  # raw files and pipes may return short reads
            parts.append(more)
            have += len(more)
        return b"".join(parts)

    def _take_pieces(self, n: int) -> bytes:
        assert self._pieces is not None
        parts: list[memoryview] = []
        need = n
        while need:
            if not self._view:
                piece = next(self._pieces, None)
                if piece is None:
                    break
                if not parts and len(piece) == need:
                    return bytes(piece)  # the common case, pieces of exactly one chunk: no copy
                self._view = memoryview(piece)
            part, self._view = self._view[:need], self._view[need:]
            parts.append(part)
            need -= len(part)
        return b"".join(parts)
