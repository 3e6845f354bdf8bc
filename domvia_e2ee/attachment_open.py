"""Opening an attachment (spec/attachment.md): every chunk is authenticated before its plaintext is
released; the final chunk only after the last-chunk flag, the size and the digest of the whole blob."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

from .attachment_reference import AttachmentReference
from .attachment_io import Progress, Source, Writable, _Source
from .attachment_stream import (
    HEADER_SIZE, StreamKey,
)
from .errors import AuthenticationError, DomviaError

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
