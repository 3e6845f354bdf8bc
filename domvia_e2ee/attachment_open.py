"""Opening an attachment (spec/attachment.md): every chunk is authenticated before its plaintext is
released; a whole-blob reader checks each frame's tree hashes as it goes and releases the final chunk only
after the last-chunk flag, the size and the root; a random-access reader checks the chunk's inclusion
proof against the root before releasing it."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from .attachment_reference import AttachmentReference
from .attachment_io import Progress, Source, Writable, _Source
from .attachment_stream import (
    HEADER_SIZE, StreamKey,
)
from .attachment_tree import HASH_SIZE, TreeBuilder, proof_matches, leaf_hash
from .errors import AuthenticationError, DomviaError

class _ChunkOpener:
    """The header checked against the reference (E_FORMAT if malformed, E_AUTH if it is another blob's);
    opens any chunk by index, its length and last-chunk flag fixed by the reference's size."""

    __slots__ = ("_count", "_key", "header", "reference")

    def __init__(self, reference: AttachmentReference, header: bytes) -> None:
        key = StreamKey.open_header(reference.file_key, header)
        if key.header.suite != reference.suite or key.chunk_size != reference.chunk_size:
            raise AuthenticationError()
        self.reference = reference
        self.header = header
        self._key = key
        self._count = reference.chunk_count

    def decrypt(self, index: int, chunk: bytes) -> bytes:
        """Chunk `index` authenticated by its AEAD alone (a whole-blob reader checks the tree as it goes)."""
        if len(chunk) != self.reference.chunk_span(index)[1]:
            raise AuthenticationError()
        return self._key.open_chunk(index, chunk, index == self._count - 1)

    def open(self, index: int, chunk: bytes, proof: bytes) -> bytes:
        """Chunk `index`, authenticated, then checked against the reference's root with its inclusion proof."""
        plaintext = self.decrypt(index, chunk)
        self._check_inclusion(index, chunk, _split_proof(proof, len(self.reference.proof_offsets(index))))
        return plaintext

    def _check_inclusion(self, index: int, chunk: bytes, proof: list[bytes]) -> None:
        if not proof_matches(leaf_hash(chunk), index, self._count, proof, self.header, self.reference.root):
            raise AuthenticationError()


def _split_proof(proof: bytes, count: int) -> list[bytes]:
    """The proof's 32-byte hashes; E_AUTH unless it has exactly `count` (its length is fixed by the reference)."""
    if len(proof) != HASH_SIZE * count:
        raise AuthenticationError()
    return [proof[at : at + HASH_SIZE] for at in range(0, len(proof), HASH_SIZE)]


def open_chunk(reference: AttachmentReference, header: bytes, index: int, chunk: bytes, proof: bytes) -> bytes:
    """Random access: the plaintext of chunk `index`, from the 70-byte header, that chunk's bytes (the range
    reference.chunk_span(index) of the blob) and its inclusion proof (the 32-byte hashes at
    reference.proof_offsets(index), concatenated). Authenticates the chunk, its position, for the final
    chunk that it is final, and that it is the chunk the sender sealed under this reference.

    Raises `FormatError` (E_FORMAT) when the header is malformed, `AuthenticationError` (E_AUTH) when it
    belongs to another blob or key, or when the chunk does not authenticate at `index` or is not in the
    reference's tree (including a wrong chunk or proof length); `FormatError` (E_FORMAT) when there is
    no chunk `index`.
    """
    return _ChunkOpener(reference, bytes(header)).open(index, bytes(chunk), bytes(proof))


class _Opener:
    """Opens a whole blob in order, checking each frame's tree hashes, and the root before the final chunk."""

    __slots__ = ("_chunks", "_failed", "_index", "_tree", "reference")

    def __init__(self, reference: AttachmentReference) -> None:
        self.reference = reference
        self._chunks: _ChunkOpener | None = None
        self._tree = TreeBuilder()
        self._index = 0
        self._failed = False

    @property
    def next_length(self) -> int:
        """How many bytes the next step consumes: the header, then each frame; 0 once all are opened."""
        if self._chunks is None:
            return HEADER_SIZE
        if self._index == self.reference.chunk_count:
            return 0
        return self.reference.frame_length(self._index)

    def step(self, data: bytes) -> bytes:
        """Consumes the header (returns b"") or the next frame (returns its chunk's plaintext).
        Before releasing the final chunk's plaintext, call finish()."""
        if self._failed:
            raise AuthenticationError()
        try:
            return self._open(data)
        except DomviaError:
            self._failed = True
            raise

    def _open(self, data: bytes) -> bytes:
        if self._chunks is None:
            self._chunks = _ChunkOpener(self.reference, data)
            return b""
        if self._index == self.reference.chunk_count or len(data) != self.next_length:
            raise AuthenticationError()
        length = self.reference.chunk_span(self._index)[1]
        plaintext = self._chunks.decrypt(self._index, data[:length])
        self._check_frame_hashes(data[:length], data[length:])
        self._index += 1
        return plaintext

    def _check_frame_hashes(self, chunk: bytes, stored: bytes) -> None:
        """The leaf and nodes stored after a chunk are the ones the chunks so far give."""
        if not hmac.compare_digest(self._tree.add(chunk), stored):
            raise AuthenticationError()

    def finish(self, trailing: bytes) -> None:
        """All frames opened, nothing after them, and the tree is the one the reference's root names."""
        if self._failed or trailing or self.next_length or self._chunks is None or not hmac.compare_digest(
                self._tree.root(self._chunks.header), self.reference.root):
            self._failed = True
            raise AuthenticationError()


class AttachmentDecryptor:
    """Push API: update() with the blob as it arrives, then finalize().

    update() returns the plaintext of chunks already authenticated and known not to be the final one,
    in order. finalize() returns the final chunk only after the last-chunk flag, the exact length and
    the root of the chunk tree have been checked. Until finalize() returns, what was released is an
    authentic prefix of the attachment, not the attachment: hold it back or be ready to discard it.
    After any error every call raises AuthenticationError.

    Errors: `FormatError` (E_FORMAT) for a malformed header; `AuthenticationError` (E_AUTH) for a
    header of another blob, a chunk that does not authenticate, bytes after the final chunk, a
    truncated blob (at finalize()) or a tree that does not match the reference's root.
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
        the reference's root describes.
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
    length, last-chunk flag and root are checked. A consumer that stops at an exception has received
    an authentic prefix, not the attachment (spec/attachment.md, "What a streaming reader sees").
    progress, if given, is called with the number of plaintext bytes released so far.

    Raises, while iterating, `FormatError` (E_FORMAT) when the header is malformed, `AuthenticationError` (E_AUTH) when it
    belongs to another blob or key, or
    when a chunk does not authenticate, the blob is truncated or extended, or its tree does not match the root.
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
