"""Random access to an attachment: a seekable file over a seekable blob, one authenticated chunk at a time."""

from __future__ import annotations

import hashlib
import hmac
import io
from typing import TYPE_CHECKING

from .attachment_reference import AttachmentReference
from .attachment_io import _Source
from .attachment_open import _ChunkOpener
from .attachment_stream import (
    HEADER_SIZE,
)
from .errors import AuthenticationError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


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
