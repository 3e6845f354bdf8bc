"""Streamed encryption of attachments: photos, videos, documents (spec/attachment.md).

A fresh random file key per attachment; the content is encrypted in fixed-size chunks with STREAM
(attachment_stream.py); the file key, size, content type and the SHA-256 of the encrypted blob travel in
an AttachmentReference sealed inside a chat message (attachment_reference.py). Memory stays at a few
chunks whatever the size of the file.

- Sealing: `seal_stream(source)` (iterator), `seal_file(source, sink)`, `AttachmentEncryptor`
  (update/finalize).
- Opening: `open_stream(reference, source)`, `open_file(...)`, `AttachmentDecryptor` (update/finalize).
  Every chunk is authenticated before its plaintext is released; the final chunk is released
  only after the last-chunk flag, the size and the digest of the whole blob have been checked.
- Random access: `AttachmentReader` (a seekable file over a seekable blob),
  `open_chunk(reference, header, k, chunk)`.

Errors: `FormatError` (E_FORMAT) for a malformed reference, header or argument; `AuthenticationError`
(E_AUTH) for any chunk, header, size or digest that does not authenticate, including truncation and
extension of the blob.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Final, Protocol

from .attachment_reference import AttachmentReference, parse_reference, seal_reference
from .attachment_stream import (
    DEFAULT_CHUNK_SIZE, FILE_KEY_SIZE, HEADER_SIZE, MAX_CHUNKS, StreamKey,
)
from .errors import AuthenticationError, DomviaError, FormatError
from .encoding import check_content_type
from .hazmat.suites import DEFAULT_SUITE, Suite

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "DEFAULT_CHUNK_SIZE", "DEFAULT_CONTENT_TYPE", "AttachmentDecryptor", "AttachmentEncryptor", "AttachmentReader",
    "AttachmentReference", "SealingStream", "open_chunk", "open_file", "open_stream", "parse_reference",
    "seal_file", "seal_reference", "seal_stream",
]

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
"""The content type recorded in a reference when the caller gives none."""
Progress = Callable[[int], None]


class Readable(Protocol):
    """A binary file or pipe: anything with `read(size)` returning bytes (b"" at the end)."""

    def read(self, size: int, /) -> bytes: ...


class Writable(Protocol):
    """A binary file or buffer: anything with `write(data)`."""

    def write(self, data: bytes, /) -> object: ...


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


# -- sealing -----------------------------------------------------------------------------------


class _Sealer:
    """Seals chunks in order under a fresh file key and hashes the blob. Each index is sealed once."""

    __slots__ = ("_content_type", "_digest", "_file_key", "_index", "_key", "_size", "reference")

    def __init__(self, content_type: str, suite: Suite, chunk_size: int,
                 file_key: bytes | None, salt: bytes | None) -> None:
        self._file_key = os.urandom(FILE_KEY_SIZE) if file_key is None else file_key
        self._key = StreamKey.create(self._file_key, suite=suite, chunk_size=chunk_size, _salt=salt)
        self._content_type = check_content_type(content_type)
        self._index = 0
        self._size = 0
        self._digest = hashlib.sha256(self._key.header_bytes)
        self.reference: AttachmentReference | None = None

    @property
    def header(self) -> bytes:
        return self._key.header_bytes

    @property
    def chunk_size(self) -> int:
        return self._key.chunk_size

    def seal(self, chunk: bytes, last: bool) -> bytes:
        """The caller gives full chunks, then one last chunk of 1..chunk_size bytes (0 if it is the only one)."""
        if self.reference is not None:
            raise DomviaError("this attachment is already finished")
        if self._index >= MAX_CHUNKS - 1 and not last:
            raise FormatError("size", "the attachment is larger than the format allows")
        sealed = self._key.seal_chunk(self._index, chunk, last)
        self._index += 1
        self._size += len(chunk)
        self._digest.update(sealed)
        if last:
            self.reference = AttachmentReference(self._file_key, self._key.header.suite, self._key.chunk_size,
                                                 self._size, self._content_type, self._digest.digest())
        return sealed


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


# -- opening -----------------------------------------------------------------------------------


class _ChunkOpener:
    """The header checked against the reference (E_FORMAT if malformed, E_AUTH if it is another blob's);
    opens any chunk by index, its length and last-chunk flag fixed by the reference's size."""

    __slots__ = ("_count", "_key", "reference")

    def __init__(self, reference: AttachmentReference, header: bytes) -> None:
        key = StreamKey.open_header(reference.file_key, header)
        if key.header.suite != reference.suite or key.chunk_size != reference.chunk_size:
            raise AuthenticationError()
        self.reference = reference
        self._key = key
        self._count = reference.chunk_count

    def open(self, index: int, chunk: bytes) -> bytes:
        if len(chunk) != self.reference.chunk_span(index)[1]:
            raise AuthenticationError()
        return self._key.open_chunk(index, chunk, index == self._count - 1)


def open_chunk(reference: AttachmentReference, header: bytes, index: int, chunk: bytes) -> bytes:
    """Random access: the plaintext of chunk `index`, from the 70-byte header and that chunk's bytes
    (the range reference.chunk_span(index) of the blob). Authenticates the chunk, its position and,
    for the final chunk, that it is final; it cannot check the digest of the whole blob.

    Raises `FormatError` (E_FORMAT) when the header is malformed, `AuthenticationError` (E_AUTH) when it
    belongs to another blob or key, or when the chunk does not authenticate
    at `index` (including a wrong length); `FormatError` (E_FORMAT) when there is no chunk `index`.
    """
    return _ChunkOpener(reference, bytes(header)).open(index, bytes(chunk))


class _Opener:
    """Opens a whole blob in order and checks its SHA-256 against the reference before the final chunk."""

    __slots__ = ("_chunks", "_digest", "_failed", "_index", "reference")

    def __init__(self, reference: AttachmentReference) -> None:
        self.reference = reference
        self._chunks: _ChunkOpener | None = None
        self._digest = hashlib.sha256()
        self._index = 0
        self._failed = False

    @property
    def next_length(self) -> int:
        """How many bytes the next step consumes: the header, then each chunk; 0 once all are opened."""
        if self._chunks is None:
            return HEADER_SIZE
        if self._index == self.reference.chunk_count:
            return 0
        return self.reference.chunk_span(self._index)[1]

    def step(self, data: bytes) -> bytes:
        """Consumes the header (returns b"") or the next chunk (returns its plaintext).
        Before releasing the final chunk's plaintext, call finish()."""
        if self._failed:
            raise AuthenticationError()
        try:
            plaintext = self._open(data)
        except DomviaError:
            self._failed = True
            raise
        self._digest.update(data)
        return plaintext

    def _open(self, data: bytes) -> bytes:
        if self._chunks is None:
            self._chunks = _ChunkOpener(self.reference, data)
            return b""
        if self._index == self.reference.chunk_count:
            raise AuthenticationError()
        plaintext = self._chunks.open(self._index, data)
        self._index += 1
        return plaintext

    def finish(self, trailing: bytes) -> None:
        """All chunks opened, nothing after them, and the blob is the one the reference hashed."""
        digest = self._digest.digest()
        if self._failed or trailing or self.next_length or not hmac.compare_digest(digest, self.reference.sha256):
            self._failed = True
            raise AuthenticationError()


class AttachmentDecryptor:
    """Push API: update() with the blob as it arrives, then finalize().

    update() returns the plaintext of chunks already authenticated and known not to be the final one,
    in order. finalize() returns the final chunk only after the last-chunk flag, the exact length and
    the SHA-256 of the whole blob have been checked. Until finalize() returns, what was released is an
    authentic prefix of the attachment, not the attachment: hold it back or be ready to discard it.
    After any error every call raises AuthenticationError.

    Errors: `FormatError` (E_FORMAT) for a malformed header; `AuthenticationError` (E_AUTH) for a
    header of another blob, a chunk that does not authenticate, bytes after the final chunk, a
    truncated blob (at finalize()) or a digest that does not match the reference.
    """

    def __init__(self, reference: AttachmentReference) -> None:
        self._opener = _Opener(reference)
        self._buffer = bytearray()

    def __repr__(self) -> str:
        return f"AttachmentDecryptor({self._opener.reference!r})"

    def update(self, data: bytes) -> bytes:
        """Plaintext of every chunk that is complete and not the final one.

        Raises `FormatError` (E_FORMAT) or `AuthenticationError` (E_AUTH) as the class says.
        """
        self._buffer += data
        out = self._steps(final=False)
        if self._buffer and not self._opener.next_length:
            self._opener.finish(bytes(self._buffer))  # bytes after the final chunk: raises
        return out

    def finalize(self) -> bytes:
        """The final chunk's plaintext, once the whole blob is verified.

        Raises `AuthenticationError` (E_AUTH) when the blob is truncated, extended or not the one
        the reference's SHA-256 describes.
        """
        final = self._steps(final=True)
        self._opener.finish(bytes(self._buffer))
        return final

    def _steps(self, final: bool) -> bytes:
        # Walks the buffer by offset and compacts once: input of any size costs linear time.
        out, pos = [], 0
        with memoryview(self._buffer) as view:
            while (need := self._opener.next_length) and (final or pos + need < len(view)):
                out.append(self._opener.step(bytes(view[pos : pos + need])))
                pos += need
        del self._buffer[:pos]
        return b"".join(out)


def open_stream(reference: AttachmentReference, source: Source, *,
                progress: Progress | None = None) -> Iterator[bytes]:
    """Decrypts the blob from a binary file, a pipe or an iterable of byte strings, one chunk at a time.

    Yields the plaintext of each chunk once it is authenticated; the final chunk only after the blob's
    length, last-chunk flag and SHA-256 are checked. A consumer that stops at an exception has received
    an authentic prefix, not the attachment (spec/attachment.md, "What a streaming reader sees").
    progress, if given, is called with the number of plaintext bytes released so far.

    Raises, while iterating, `FormatError` (E_FORMAT) when the header is malformed, `AuthenticationError` (E_AUTH) when it
    belongs to another blob or key, or
    when a chunk does not authenticate, the blob is truncated or extended, or its SHA-256 differs.
    """
    opener, data, done = _Opener(reference), _Source(source), 0
    opener.step(data.take(HEADER_SIZE))
    while need := opener.next_length:
        plaintext = opener.step(data.take(need))
        if not opener.next_length:
            opener.finish(data.take(1))
        done += len(plaintext)
        yield plaintext
        if progress is not None:
            progress(done)


def open_file(reference: AttachmentReference, source: Source, sink: Writable, *,
              progress: Progress | None = None) -> None:
    """Decrypts source into sink. On error sink holds an authentic prefix at most: write to a temporary
    file and rename it on success (the CLI does).

    Raises what `open_stream` raises: `FormatError` (E_FORMAT) for a malformed header,
    `AuthenticationError` (E_AUTH) for anything that does not authenticate.
    """
    for plaintext in open_stream(reference, source, progress=progress):
        sink.write(plaintext)


class AttachmentReader(io.RawIOBase):
    """A read-only, seekable plaintext view of a seekable encrypted blob, decrypting chunk by chunk
    on demand: a video player can seek without reading what comes before.

    Opening checks the header and that the blob has exactly the length the reference implies; each
    read authenticates the chunks it touches, their positions and the final chunk's flag. It does not
    hash the whole blob: call verify() for that (reading the blob once).

    The constructor raises `FormatError` (E_FORMAT) when the header is malformed, `AuthenticationError` (E_AUTH) when it
    belongs to another blob or key, or
    when the blob's length is not the reference's `encrypted_size`.
    """

    def __init__(self, reference: AttachmentReference, blob: io.RawIOBase | io.BufferedIOBase) -> None:
        super().__init__()
        self._blob = blob
        self._reference = reference
        blob.seek(0)
        self._chunks = _ChunkOpener(reference, _read_exact(blob, HEADER_SIZE))
        if blob.seek(0, io.SEEK_END) != reference.encrypted_size:
            raise AuthenticationError()
        self._position = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    def __repr__(self) -> str:
        return f"AttachmentReader({self._reference!r})"

    def readable(self) -> bool:
        """True: the reader reads."""
        return True

    def seekable(self) -> bool:
        """True: any plaintext position can be sought."""
        return True

    def tell(self) -> int:
        """The current plaintext position."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Moves to a plaintext position, as `io.RawIOBase.seek`. Raises `ValueError` for a negative position."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._reference.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fills buffer across chunk boundaries; short only at the end of the attachment.

        Raises `AuthenticationError` (E_AUTH) when a chunk it reads does not authenticate.
        """
        with memoryview(buffer) as raw, raw.cast("B") as view:
            filled = 0
            while filled < len(view) and self._position < self._reference.size:
                index, skip = divmod(self._position, self._reference.chunk_size)
                plaintext = self.read_chunk(index)[skip : skip + len(view) - filled]
                view[filled : filled + len(plaintext)] = plaintext
                filled += len(plaintext)
                self._position += len(plaintext)
        return filled

    def read_chunk(self, index: int) -> bytes:
        """The plaintext of chunk `index`, authenticated. The last chunk read is kept for the next read.

        Raises `FormatError` (E_FORMAT) when there is no chunk `index`, `AuthenticationError` (E_AUTH)
        when it does not authenticate.
        """
        if self._cached[0] != index:
            offset, length = self._reference.chunk_span(index)
            self._blob.seek(offset)
            self._cached = (index, self._chunks.open(index, _read_exact(self._blob, length)))
        return self._cached[1]

    def verify(self) -> None:
        """Hashes the whole blob and checks it against the reference's SHA-256 (E_AUTH if not)."""
        self._blob.seek(0)
        digest = hashlib.sha256()
        while piece := _read_exact(self._blob, 1 << 20):
            digest.update(piece)
        if not hmac.compare_digest(digest.digest(), self._reference.sha256):
            raise AuthenticationError()


def _read_exact(blob: io.RawIOBase | io.BufferedIOBase, size: int) -> bytes:
    return _Source(blob).take(size)
