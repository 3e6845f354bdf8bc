"""Random access to an attachment: a seekable file over a seekable blob, one verified chunk at a time."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from .attachment_reference import AttachmentReference
from .attachment_io import _Source
from .attachment_open import _ChunkOpener, _Opener
from .attachment_stream import (
    HEADER_SIZE,
)
from .attachment_tree import HASH_SIZE
from .errors import AuthenticationError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class AttachmentReader(io.RawIOBase):
    """A read-only, seekable plaintext view of a seekable encrypted blob, decrypting chunk by chunk
    on demand: a video player can seek without reading what comes before.

    Opening checks the header and that the blob has exactly the length the reference implies; each
    read authenticates the chunks it touches, their positions and the final chunk's flag, and checks
    each against the reference's root with its inclusion proof (O(log n) hashes of 32 bytes read from
    the blob's tree) before releasing its plaintext. verify() checks the whole blob's tree.

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
        """The plaintext of chunk `index`, authenticated and checked against the reference's root with its
        inclusion proof. The last chunk read is kept for the next read.

        Raises `FormatError` (E_FORMAT) when there is no chunk `index`, `AuthenticationError` (E_AUTH)
        when it does not authenticate or is not the chunk the reference's tree holds at `index`.
        """
        if self._cached[0] != index:
            offset, length = self._reference.chunk_span(index)
            self._blob.seek(offset)
            chunk = _read_exact(self._blob, length)
            proof = b"".join(self._read_at(at, HASH_SIZE) for at in self._reference.proof_offsets(index))
            self._cached = (index, self._chunks.open(index, chunk, proof))
        return self._cached[1]

    def _read_at(self, offset: int, size: int) -> bytes:
        self._blob.seek(offset)
        return _read_exact(self._blob, size)

    def verify(self) -> None:
        """Reads the whole blob once, opening every frame and checking its tree hashes, and the tree
        against the reference's root (E_AUTH if not). Holds one chunk at a time."""
        self._blob.seek(0)
        opener = _Opener(self._reference)
        while need := opener.next_length:
            opener.step(_read_exact(self._blob, need))
        opener.finish(_read_exact(self._blob, 1))


def _read_exact(blob: io.RawIOBase | io.BufferedIOBase, size: int) -> bytes:
    return _Source(blob).take(size)
