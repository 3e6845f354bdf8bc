"""Attack: the storage server swaps an attachment's blob for another one that opens under the same
reference, and a member's player seeks into it.

A blob opens under a reference when its header commits to the reference's file key. A sender who
sealed two versions of a file under one file key (a re-upload after an edit, or on purpose, to show
different members different content: equivocation) leaves the server two blobs that both pass that
check, with the same length. Before issue #12 the whole-blob SHA-256 in the reference was the only
thing that told them apart, and only a reader of the *whole* blob checked it: random access
(`AttachmentReader.read_chunk`, a video player's seek) decrypted chunk k of the swapped blob and
released the other version's content. Result on the code before the fix (commit 599ffb8):
`read_chunk(2)` returned the swapped blob's chunk 2 (`b"B" * 64`), no error.

Why it fails now: the reference commits to a hash tree over every encrypted chunk, and each random
access read checks the chunk's inclusion proof against that root before releasing its plaintext.
"""

from __future__ import annotations

import io

import pytest

from domvia_e2ee.attachment import AttachmentEncryptor, AttachmentReader, AttachmentReference
from domvia_e2ee.errors import AuthenticationError

CHUNK = 64
FILE_KEY = bytes(range(32))


def _seal(content: bytes, salt: bytes) -> tuple[bytes, AttachmentReference]:
    encryptor = AttachmentEncryptor(chunk_size=CHUNK, _file_key=FILE_KEY, _salt=salt)
    blob = encryptor.update(content) + encryptor.finalize()
    return blob, encryptor.reference


GENUINE = b"A" * (CHUNK * 5)
SWAPPED = b"A" * (CHUNK * 2) + b"B" * CHUNK + b"A" * (CHUNK * 2)


def test_a_seek_into_a_swapped_blob_is_refused_before_any_plaintext() -> None:
    blob, reference = _seal(GENUINE, salt=bytes(32))
    swapped_blob, _ = _seal(SWAPPED, salt=bytes(32))  # same file key, same header, same length
    assert len(swapped_blob) == len(blob) and swapped_blob[:70] == blob[:70]
    assert AttachmentReader(reference, io.BytesIO(blob)).read_chunk(2) == b"A" * CHUNK

    reader = AttachmentReader(reference, io.BytesIO(swapped_blob))
    with pytest.raises(AuthenticationError) as raised:
        reader.read_chunk(2)
    assert raised.value.code == "E_AUTH"
    reader.seek(2 * CHUNK)
    with pytest.raises(AuthenticationError):
        reader.read(10)


def test_a_swapped_blob_under_another_salt_is_refused_at_any_chunk() -> None:
    _, reference = _seal(GENUINE, salt=bytes(32))
    other, _ = _seal(SWAPPED, salt=b"\x01" * 32)  # a second, valid header for the same file key
    reader = AttachmentReader(reference, io.BytesIO(other))
    for index in range(5):
        with pytest.raises(AuthenticationError):
            reader.read_chunk(index)
