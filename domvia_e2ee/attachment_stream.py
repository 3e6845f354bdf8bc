"""STREAM, the chunked AEAD under every attachment (spec/attachment.md). No reference: that is
attachment_reference.py's. This module fixes the bytes: header, key schedule, nonces, chunk sizes, and
where each chunk and each hash of the chunk tree (attachment_tree.py) sits in the blob.

    blob    = header || frame_0 || ... || frame_{n-1}
    frame_i = chunk_i || leaf_i || the tree nodes chunk i completes (32 bytes each)
    header  = "DVA" 0x02 | u8 suite | u8 log2(chunk size) | salt[32] | commitment[32]    (70 bytes)
    prk    = HKDF-Extract(salt, file_key)
    payload_key || commitment = HKDF-Expand(prk, INFO_ATTACHMENT_KEY || header[:38], 64)
    chunk_i = AEAD(payload_key, nonce = u88(i) || u8(last), plaintext_i, aad = "")

The key binds the suite, the chunk size and the salt, so nonces can be a plain counter; the last-chunk
flag in the nonce is what makes truncation and appending detectable (Hoang, Reyhanitabar, Rogaway, Vizar 2015).
"""

from __future__ import annotations

import hmac
import os
from typing import Final, NamedTuple

from . import labels
from .attachment_tree import HASH_SIZE, frame_hashes, hashes_before, node_frame, proof_nodes
from .errors import AuthenticationError, FormatError
from .hazmat import kdf
from .hazmat.suites import KEY_SIZE, TAG_SIZE, AeadKey, Suite

FILE_KEY_SIZE: Final = KEY_SIZE
"""Bytes of a file key (one fresh random key per attachment)."""
SALT_SIZE: Final = 32
"""Bytes of the header's random salt."""
COMMITMENT_SIZE: Final = 32
"""Bytes of the header's key commitment."""
HEADER_PREFIX_SIZE: Final = 4 + 1 + 1 + SALT_SIZE
"""Bytes of the header the key schedule binds: magic and version, suite, chunk size, salt."""
HEADER_SIZE: Final = HEADER_PREFIX_SIZE + COMMITMENT_SIZE
"""Bytes of the whole header (70)."""
MIN_CHUNK_LOG2: Final = 6
"""The smallest chunk size is 2^6 = 64 bytes."""
MAX_CHUNK_LOG2: Final = 20
"""The largest chunk size is 2^20 = 1 MiB."""
DEFAULT_CHUNK_SIZE: Final = 1 << 16
"""64 KiB chunks unless the caller chooses otherwise."""
# 2^32 chunks bound the data under one payload key (as Tink's segment count does). With chunks of
# at most 2^20 bytes every size is below 2^53, which every JSON reader (JavaScript's Number) holds exactly.
MAX_CHUNKS: Final = 1 << 32
"""The most chunks one attachment may have."""


def check_chunk_size(value: object, field: str = "chunk_size") -> int:
    """`value` if it is a power of two from 2^6 to 2^20, else `FormatError` (E_FORMAT) naming `field`."""
    if type(value) is not int or value & (value - 1) or not 1 << MIN_CHUNK_LOG2 <= value <= 1 << MAX_CHUNK_LOG2:
        raise FormatError(field, f"must be a power of two from 2^{MIN_CHUNK_LOG2} to 2^{MAX_CHUNK_LOG2}")
    return value


def chunk_count(size: int, chunk_size: int) -> int:
    """How many chunks `size` bytes make. Raises nothing.

    An empty attachment is one empty chunk; otherwise no chunk is empty, the last may be full.
    """
    return max(1, -(-size // chunk_size))


def check_size(value: object, chunk_size: int, field: str = "size") -> int:
    """`value` if it is a plaintext size that fits `MAX_CHUNKS` chunks, else `FormatError` (E_FORMAT)."""
    if type(value) is not int or not 0 <= value <= MAX_CHUNKS * chunk_size:
        raise FormatError(field, "must be an integer from 0 to 2^32 chunks of chunk_size bytes")
    return value


def encrypted_size(size: int, chunk_size: int) -> int:
    """Bytes of the blob for `size` bytes of plaintext: header, plaintext, a tag per chunk, the tree. Raises nothing."""
    count = chunk_count(size, chunk_size)
    return _frame_offset(count, chunk_size) + size - chunk_size * count


def _frame_offset(index: int, chunk_size: int) -> int:
    return HEADER_SIZE + index * (chunk_size + TAG_SIZE) + HASH_SIZE * hashes_before(index)


def _chunk_length(index: int, size: int, chunk_size: int) -> int:
    count = chunk_count(size, chunk_size)
    if type(index) is not int or not 0 <= index < count:
        raise FormatError("index", f"must be a chunk index from 0 to {count - 1}")
    return (chunk_size if index < count - 1 else size - chunk_size * (count - 1)) + TAG_SIZE


def chunk_span(index: int, size: int, chunk_size: int) -> tuple[int, int]:
    """(offset in the blob, length) of encrypted chunk `index` of an attachment of `size` bytes.

    Raises `FormatError` (E_FORMAT) naming "index" when `index` is not a chunk of the attachment.
    """
    length = _chunk_length(index, size, chunk_size)
    return _frame_offset(index, chunk_size), length


def frame_length(index: int, size: int, chunk_size: int) -> int:
    """Bytes of frame `index`: the chunk and the tree hashes stored after it. E_FORMAT for a bad index."""
    return _chunk_length(index, size, chunk_size) + HASH_SIZE * frame_hashes(index)


def proof_offsets(index: int, size: int, chunk_size: int) -> list[int]:
    """Offsets in the blob of the 32-byte hashes of chunk `index`'s inclusion proof, in proof order.

    Raises `FormatError` (E_FORMAT) naming "index" when `index` is not a chunk of the attachment.
    """
    _chunk_length(index, size, chunk_size)
    out = []
    for level, position in proof_nodes(index, chunk_count(size, chunk_size)):
        offset, length = chunk_span(node_frame(level, position), size, chunk_size)
        out.append(offset + length + HASH_SIZE * level)
    return out


class StreamHeader(NamedTuple):
    """The 70-byte header that starts every encrypted attachment."""

    suite: Suite
    chunk_size: int
    salt: bytes
    commitment: bytes

    @property
    def prefix(self) -> bytes:
        """What the key schedule binds: everything but the commitment."""
        log2 = self.chunk_size.bit_length() - 1
        return labels.MAGIC_ATTACHMENT + bytes((self.suite, log2)) + self.salt

    def to_bytes(self) -> bytes:
        """The 70 header bytes. Raises nothing."""
        return self.prefix + self.commitment

    @classmethod
    def parse(cls, data: bytes) -> StreamHeader:
        """Checks every field in wire order; the commitment is checked by StreamKey.open_header.

        Raises `FormatError` (E_FORMAT) naming the first bad field: "header" (length), "magic",
        "version", "suite" or "chunk_size".
        """
        if len(data) != HEADER_SIZE:
            raise FormatError("header", f"must be {HEADER_SIZE} bytes, got {len(data)}")
        if data[:3] != labels.MAGIC_ATTACHMENT[:3]:
            raise FormatError("magic", "not an encrypted attachment")
        if data[3] != labels.ATTACHMENT_FORMAT_VERSION:
            raise FormatError("version", f"unsupported attachment version {data[3]}")
        suite = Suite.from_wire(data[4])
        if not MIN_CHUNK_LOG2 <= data[5] <= MAX_CHUNK_LOG2:
            raise FormatError("chunk_size", f"log2 must be from {MIN_CHUNK_LOG2} to {MAX_CHUNK_LOG2}, got {data[5]}")
        salt_end = HEADER_PREFIX_SIZE
        return cls(suite, 1 << data[5], bytes(data[6:salt_end]), bytes(data[salt_end:]))


def _schedule(file_key: bytes, prefix: bytes, salt: bytes) -> tuple[bytes, bytes]:
    okm = kdf.expand(kdf.extract(salt, file_key), labels.INFO_ATTACHMENT_KEY + prefix, KEY_SIZE + COMMITMENT_SIZE)
    return okm[:KEY_SIZE], okm[KEY_SIZE:]


class StreamKey:
    """The payload key of one attachment, with its header. Seals or opens any chunk by index.

    Made by `create` (sealing) or `open_header` (opening), not directly.
    """

    __slots__ = ("_aead", "_nonce_size", "chunk_size", "header", "header_bytes")

    def __init__(self, header: StreamHeader, payload_key: bytes) -> None:
        self.header = header
        self.header_bytes = header.to_bytes()
        self.chunk_size = header.chunk_size
        self._aead = AeadKey(header.suite, payload_key)
        self._nonce_size = header.suite.nonce_size

    def __repr__(self) -> str:
        return f"StreamKey(suite={self.header.suite.label}, chunk_size={self.chunk_size}, key=<redacted>)"

    @classmethod
    def create(cls, file_key: bytes, *, suite: Suite, chunk_size: int, _salt: bytes | None = None) -> StreamKey:
        """A new header for file_key: a fresh random salt unless the vectors pin one.

        Raises `FormatError` (E_FORMAT) for an unknown suite or a bad chunk size, and `ValueError`
        when `file_key` is not 32 bytes (a programming error).
        """
        _check_file_key(file_key)
        salt = os.urandom(SALT_SIZE) if _salt is None else _salt
        if len(salt) != SALT_SIZE:
            raise ValueError("the salt is 32 bytes")
        draft = StreamHeader(Suite.from_wire(suite), check_chunk_size(chunk_size), salt, b"")
        payload_key, commitment = _schedule(file_key, draft.prefix, salt)
        return cls(draft._replace(commitment=commitment), payload_key)

    @classmethod
    def open_header(cls, file_key: bytes, data: bytes) -> StreamKey:
        """Parses a header (E_FORMAT) and checks that it commits to file_key (E_AUTH).

        Raises `FormatError` (E_FORMAT) as `StreamHeader.parse` does, `AuthenticationError` (E_AUTH)
        when the commitment does not match `file_key`, and `ValueError` when `file_key` is not
        32 bytes (a programming error).
        """
        _check_file_key(file_key)
        header = StreamHeader.parse(data)
        payload_key, commitment = _schedule(file_key, header.prefix, header.salt)
        if not hmac.compare_digest(commitment, header.commitment):
            raise AuthenticationError()
        return cls(header, payload_key)

    def seal_chunk(self, index: int, plaintext: bytes, last: bool) -> bytes:
        """Hazardous: sealing twice at one index reuses a nonce. attachment.py's sealer is the only caller."""
        # nonce = u88(index) || u8(last), left-padded with zeros to the suite's nonce size.
        return self._aead.encrypt(((index << 8) | last).to_bytes(self._nonce_size, "big"), plaintext, b"")

    def open_chunk(self, index: int, ciphertext: bytes, last: bool) -> bytes:
        """The plaintext of chunk `index` (`last` for the final one).

        Raises `AuthenticationError` (E_AUTH) when the chunk does not authenticate at that index
        with that last-chunk flag: a modified, reordered, truncated or extended blob.
        """
        return self._aead.decrypt(((index << 8) | last).to_bytes(self._nonce_size, "big"), ciphertext, b"")


def _check_file_key(file_key: bytes) -> None:
    if not isinstance(file_key, bytes) or len(file_key) != FILE_KEY_SIZE:
        raise ValueError("a file key is 32 bytes")
