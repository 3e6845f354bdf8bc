"""Streaming in constant memory: sealing 256 MiB and opening 64 MiB, generated on the fly, allocate a
few chunks at most (tracemalloc counts every Python allocation, including the bytes objects)."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable, Iterator

from domvia_e2ee.attachment import AttachmentEncryptor, AttachmentReference, open_stream, seal_stream

CHUNK = 1 << 16
BLOCKS = [hashlib.shake_256(bytes((i,))).digest(CHUNK) for i in range(8)]
LIMIT = 4 << 20  # 4 MiB: 64 chunks of 64 KiB, far below the 64-256 MiB streamed


def generated(size: int) -> Iterator[bytes]:
    """size bytes in 64 KiB pieces, made on the fly (the same 8 blocks over and over)."""
    for index in range(size // CHUNK):
        yield BLOCKS[index % len(BLOCKS)]


def peak_of(work: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sealing_256_mib_stays_within_a_few_chunks() -> None:
    size = 256 << 20
    stream = seal_stream(generated(size))

    def drain() -> None:
        for _ in stream:
            pass

    assert peak_of(drain) < LIMIT
    assert stream.reference.size == size


def deterministic_blob(size: int) -> Iterator[bytes]:
    encryptor = AttachmentEncryptor(_file_key=bytes(32), _salt=bytes(32))
    for piece in generated(size):
        yield encryptor.update(piece)
    yield encryptor.finalize()


def test_opening_64_mib_stays_within_a_few_chunks() -> None:
    size = 64 << 20
    encryptor = AttachmentEncryptor(_file_key=bytes(32), _salt=bytes(32))
    for piece in generated(size):
        encryptor.update(piece)
    encryptor.finalize()
    reference: AttachmentReference = encryptor.reference
    opened = [0]

    def drain() -> None:
        for plaintext in open_stream(reference, deterministic_blob(size)):
            opened[0] += len(plaintext)

    assert peak_of(drain) < LIMIT
    assert opened[0] == size
