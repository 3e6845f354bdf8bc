"""Sealing an attachment (spec/attachment.md): a fresh file key, STREAM chunks each followed by its part
of the chunk tree, and the reference whose root commits to the blob. Push (`AttachmentEncryptor`), pull
(`seal_stream`) and file (`seal_file`) forms."""

from __future__ import annotations

import os
from collections.abc import Iterator

from .attachment_reference import AttachmentReference
from .attachment_tree import TreeBuilder
from .attachment_io import DEFAULT_CONTENT_TYPE, Progress, Source, Writable, _Source
from .attachment_stream import (
    DEFAULT_CHUNK_SIZE, FILE_KEY_SIZE, MAX_CHUNKS, StreamKey,
)
from .errors import DomviaError, FormatError
from .encoding import check_content_type
from .hazmat.suites import DEFAULT_SUITE, Suite

class _Sealer:
    """Seals chunks in order under a fresh file key and builds the chunk tree. Each index is sealed once."""

    __slots__ = ("_content_type", "_file_key", "_index", "_key", "_size", "_tree", "reference")

    def __init__(self, content_type: str, suite: Suite, chunk_size: int,
                 file_key: bytes | None, salt: bytes | None) -> None:
        self._file_key = os.urandom(FILE_KEY_SIZE) if file_key is None else file_key
        self._key = StreamKey.create(self._file_key, suite=suite, chunk_size=chunk_size, _salt=salt)
        self._content_type = check_content_type(content_type)
        self._index = 0
        self._size = 0
        self._tree = TreeBuilder()
        self.reference: AttachmentReference | None = None

    @property
    def header(self) -> bytes:
        return self._key.header_bytes

    @property
    def chunk_size(self) -> int:
        return self._key.chunk_size

    def seal(self, chunk: bytes, last: bool) -> bytes:
        """The frame of the next chunk: the sealed chunk and the tree hashes stored after it.
        The caller gives full chunks, then one last chunk of 1..chunk_size bytes (0 if it is the only one)."""
        if self.reference is not None:
            raise DomviaError("this attachment is already finished")
        if self._index >= MAX_CHUNKS - 1 and not last:
            raise FormatError("size", "the attachment is larger than the format allows")
        sealed = self._key.seal_chunk(self._index, chunk, last)
        self._index += 1
        self._size += len(chunk)
        hashes = self._tree.add(sealed)
        if last:
            self.reference = AttachmentReference(self._file_key, self._key.header.suite, self._key.chunk_size,
                                                 self._size, self._content_type, self._tree.root(self.header))
        return sealed + hashes


class AttachmentEncryptor:
    """Push API: update() with plaintext as it comes, then finalize(). Concatenating every output,
    in order, gives the encrypted blob; `reference` is ready after finalize().

    Holds at most one chunk of plaintext: a full chunk is sealed only once a byte after it has
    arrived, because the last chunk, which may be full, is sealed with the last-chunk flag.

    The constructor raises `FormatError` (E_FORMAT) for an invalid content type, suite or chunk size.
    """

    def __init__(self, *, content_type: str = DEFAULT_CONTENT_TYPE, suite: Suite = DEFAULT_SUITE,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, _file_key: bytes | None = None,
                 _salt: bytes | None = None) -> None:
        self._sealer = _Sealer(content_type, suite, chunk_size, _file_key, _salt)
        self._buffer = bytearray()
        self._started = False

    def __repr__(self) -> str:
        return f"AttachmentEncryptor(chunk_size={self._sealer.chunk_size}, key=<redacted>)"

    def update(self, data: bytes) -> bytes:
        """Encrypted bytes ready so far (the header first, then whole chunks); possibly b"".

        Raises `DomviaError` (E_INTERNAL) after finalize(), and `FormatError` (E_FORMAT) when the
        attachment grows past `MAX_CHUNKS` chunks.
        """
        if self._sealer.reference is not None:
            raise DomviaError("this attachment is already finished")
        out = [self._start()]
        size, buffer, view = self._sealer.chunk_size, self._buffer, memoryview(data)
        while len(buffer) + len(view) > size:
            take = size - len(buffer)
            buffer += view[:take]
            view = view[take:]
            out.append(self._sealer.seal(bytes(buffer), last=False))
            buffer.clear()
        buffer += view
        return b"".join(out)

    def finalize(self) -> bytes:
        """The rest of the blob: the last chunk, sealed with the last-chunk flag.

        Raises `DomviaError` (E_INTERNAL) when called twice.
        """
        out = self._start() + self._sealer.seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        return out

    @property
    def reference(self) -> AttachmentReference:
        """The attachment's reference. Raises `DomviaError` (E_INTERNAL) before finalize() has returned."""
        if self._sealer.reference is None:
            raise DomviaError("the reference exists once finalize() has returned")
        return self._sealer.reference

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._sealer.header


class SealingStream(Iterator[bytes]):
    """Iterates over the encrypted blob: the header, then one encrypted chunk at a time.
    `reference` is ready once the iteration has ended.

    Made by `seal_stream`. Iterating raises `FormatError` (E_FORMAT) when the source grows past
    `MAX_CHUNKS` chunks, and whatever reading the source raises.
    """

    def __init__(self, source: Source, sealer: _Sealer, progress: Progress | None) -> None:
        self._sealer = sealer
        self._pieces = self._generate(_Source(source), progress)

    def __iter__(self) -> SealingStream:
        return self

    def __next__(self) -> bytes:
        return next(self._pieces)

    def __repr__(self) -> str:
        return f"SealingStream(chunk_size={self._sealer.chunk_size}, key=<redacted>)"

    @property
    def reference(self) -> AttachmentReference:
        """The attachment's reference. Raises `DomviaError` (E_INTERNAL) before the stream is exhausted."""
        if self._sealer.reference is None:
            raise DomviaError("the reference exists once the stream has been read to its end")
        return self._sealer.reference

    def _generate(self, source: _Source, progress: Progress | None) -> Iterator[bytes]:
        sealer, size, done = self._sealer, self._sealer.chunk_size, 0
        yield sealer.header
        pending = source.take(size)
        while len(pending) == size and (following := source.take(size)):
            yield sealer.seal(pending, last=False)
            done, pending = done + size, following
            if progress is not None:
                progress(done)
        yield sealer.seal(pending, last=True)
        if progress is not None:
            progress(done + len(pending))


def seal_stream(source: Source, *, content_type: str = DEFAULT_CONTENT_TYPE, suite: Suite = DEFAULT_SUITE,
                chunk_size: int = DEFAULT_CHUNK_SIZE, progress: Progress | None = None) -> SealingStream:
    """Encrypts a binary file, a pipe or an iterable of byte strings, lazily, one chunk at a time.
    progress, if given, is called with the number of plaintext bytes sealed so far.

    A fresh random file key per call. Raises `FormatError` (E_FORMAT) at once for an invalid
    content type, suite or chunk size.
    """
    return SealingStream(source, _Sealer(content_type, suite, chunk_size, None, None), progress)


def seal_file(source: Source, sink: Writable, *, content_type: str = DEFAULT_CONTENT_TYPE,
              suite: Suite = DEFAULT_SUITE, chunk_size: int = DEFAULT_CHUNK_SIZE,
              progress: Progress | None = None) -> AttachmentReference:
    """Encrypts source into sink and returns the reference to seal into a chat message.

    Raises `FormatError` (E_FORMAT) for an invalid content type, suite or chunk size, or a source
    past `MAX_CHUNKS` chunks; errors of reading the source or writing the sink pass through.
    """
    stream = seal_stream(source, content_type=content_type, suite=suite, chunk_size=chunk_size, progress=progress)
    for piece in stream:
        sink.write(piece)
    return stream.reference
