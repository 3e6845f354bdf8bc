"""Attachments: round trips at every chunk boundary, the spec's formulas recomputed from primitives,
every STREAM attack through every opening path, what a streaming reader is given, random access."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import threading
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st
from nacl import bindings as sodium

from blake3 import blake3

from domvia_e2ee import labels
from domvia_e2ee.attachment import (
    AttachmentDecryptor, AttachmentEncryptor, AttachmentReader, AttachmentReference, open_chunk, open_file,
    open_stream, seal_file, seal_stream,
)
from domvia_e2ee._vectors.attachments import tree_root
from domvia_e2ee.attachment_stream import HEADER_SIZE, StreamHeader, StreamKey, encrypted_size
from domvia_e2ee.attachment_tree import TreeBuilder
from domvia_e2ee.errors import AuthenticationError, DomviaError, FormatError
from domvia_e2ee.hazmat.suites import Suite

from core_helpers import raises_auth

SMALL = 64
FILE_KEY = hashlib.sha256(b"test file key").digest()
SALT = hashlib.sha256(b"test salt").digest()


def plaintext(size: int, label: str = "p") -> bytes:
    return hashlib.shake_256(label.encode()).digest(size)


def seal(data: bytes, *, suite: Suite = Suite.AES_256_GCM, chunk_size: int = SMALL,
         file_key: bytes = FILE_KEY, salt: bytes = SALT) -> tuple[bytes, AttachmentReference]:
    encryptor = AttachmentEncryptor(suite=suite, chunk_size=chunk_size, content_type="image/png",
                                    _file_key=file_key, _salt=salt)
    blob = encryptor.update(data) + encryptor.finalize()
    return blob, encryptor.reference


def open_all(reference: AttachmentReference, blob: bytes) -> bytes:
    return b"".join(open_stream(reference, io.BytesIO(blob)))


def near_boundaries(chunk_size: int) -> st.SearchStrategy[int]:
    return st.builds(lambda k, d: max(0, k * chunk_size + d), st.integers(0, 5), st.integers(-2, 2))


# -- round trips -------------------------------------------------------------------------------


@given(size=near_boundaries(SMALL), suite=st.sampled_from(list(Suite)), piece=st.integers(1, 200))
def test_every_api_round_trips_around_chunk_boundaries(size: int, suite: Suite, piece: int) -> None:
    data = plaintext(size)
    stream = seal_stream([data[i : i + piece] for i in range(0, size, piece)], suite=suite, chunk_size=SMALL)
    blob = b"".join(stream)
    reference = stream.reference
    assert len(blob) == reference.encrypted_size == encrypted_size(size, SMALL)
    assert (reference.size, reference.suite, reference.root) == (size, suite, spec_root(blob, SMALL, size))
    assert open_all(reference, blob) == data
    assert b"".join(open_stream(reference, [blob[i : i + piece] for i in range(0, len(blob), piece)])) == data
    decryptor = AttachmentDecryptor(reference)
    pieces = [decryptor.update(blob[i : i + piece]) for i in range(0, len(blob), piece)]
    assert b"".join(pieces) + decryptor.finalize() == data
    assert AttachmentReader(reference, io.BytesIO(blob)).read() == data


@given(size=near_boundaries(SMALL), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_push_encryptor_output_does_not_depend_on_how_input_is_split(size: int, cuts: list[int]) -> None:
    data = plaintext(size)
    encryptor = AttachmentEncryptor(chunk_size=SMALL, _file_key=FILE_KEY, _salt=SALT)
    bounds = sorted({0, size, *(c for c in cuts if c < size)})
    blob = b"".join(encryptor.update(data[a:b]) for a, b in itertools.pairwise(bounds))
    assert blob + encryptor.finalize() == seal(data)[0]  # the content type is in the reference, not the blob


def test_chunk_layout_follows_the_spec() -> None:
    for size, lengths in [(0, [16]), (1, [17]), (64, [80]), (65, [80, 17]), (192, [80, 80, 80]), (200, [80] * 3 + [24])]:
        blob, reference = seal(plaintext(size))
        assert [reference.chunk_span(k)[1] for k in range(reference.chunk_count)] == lengths
        tree_hashes = 2 * len(lengths) - len(lengths).bit_count()  # each leaf and each node of a perfect subtree
        assert len(blob) == HEADER_SIZE + sum(lengths) + 32 * tree_hashes


def test_default_chunk_size_and_both_suites_round_trip_a_few_chunks() -> None:
    data = plaintext(3 * 65536 + 1000)
    for suite in Suite:
        stream = seal_stream(io.BytesIO(data), suite=suite)
        blob = b"".join(stream)
        assert stream.reference.chunk_size == 65536 and stream.reference.chunk_count == 4
        assert open_all(stream.reference, blob) == data


def test_each_attachment_gets_a_fresh_file_key_and_salt() -> None:
    first, second = seal_stream([b"same"]), seal_stream([b"same"])
    blob_1, blob_2 = b"".join(first), b"".join(second)
    assert first.reference.file_key != second.reference.file_key
    assert blob_1[6:38] != blob_2[6:38] and blob_1 != blob_2


# -- the spec, recomputed from the primitives ---------------------------------------------------


def spec_blob(data: bytes, suite: Suite, chunk_size: int, file_key: bytes, salt: bytes) -> bytes:
    """spec/attachment.md written out with cryptography's HKDF and AES-GCM and libsodium's XChaCha."""
    prefix = b"DVA\x02" + bytes((suite, chunk_size.bit_length() - 1)) + salt
    okm = HKDF(hashes.SHA256(), 64, salt, labels.INFO_ATTACHMENT_KEY + prefix).derive(file_key)
    key, commitment = okm[:32], okm[32:]
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    chunks = []
    for index, piece in enumerate(pieces):
        nonce = index.to_bytes(11, "big") + bytes((index == len(pieces) - 1,))
        if suite is Suite.AES_256_GCM:
            chunks.append(AESGCM(key).encrypt(nonce, piece, b""))
        else:
            chunks.append(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(piece, b"", bytes(12) + nonce, key))
    leaves = [blake3(labels.ATTACHMENT_LEAF + c).digest() for c in chunks]
    out = [prefix, commitment]
    for index, chunk in enumerate(chunks):  # post-order: the perfect subtrees chunk `index` completes
        out += [chunk] + [spec_tree(leaves[index + 1 - (1 << h) : index + 1])
                          for h in range(len(chunks).bit_length()) if (index + 1) % (1 << h) == 0]
    return b"".join(out)


def spec_tree(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1, with BLAKE3 and the attachment labels."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << (len(leaves) - 1).bit_length() - 1
    return blake3(labels.ATTACHMENT_NODE + spec_tree(leaves[:split]) + spec_tree(leaves[split:])).digest()


def spec_root(blob: bytes, chunk_size: int, size: int) -> bytes:
    """The root of a genuine blob of `size` bytes of plaintext, recomputed from its chunks alone."""
    count = max(1, -(-size // chunk_size))
    leaves, at = [], HEADER_SIZE
    for index in range(count):
        length = (chunk_size if index < count - 1 else size - chunk_size * (count - 1)) + 16
        leaves.append(blake3(labels.ATTACHMENT_LEAF + blob[at : at + length]).digest())
        at += length + 32 * ((index + 1) & -(index + 1)).bit_length()
    return blake3(labels.ATTACHMENT_ROOT + blob[:HEADER_SIZE] + spec_tree(leaves)).digest()


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 200])
def test_blob_equals_an_independent_implementation_of_the_spec(suite: Suite, size: int) -> None:
    data = plaintext(size)
    assert seal(data, suite=suite)[0] == spec_blob(data, suite, SMALL, FILE_KEY, SALT)


def test_header_fields_and_commitment() -> None:
    blob, _ = seal(b"x")
    header = StreamHeader.parse(blob[:HEADER_SIZE])
    assert (header.suite, header.chunk_size, header.salt) == (Suite.AES_256_GCM, SMALL, SALT)
    assert header.to_bytes() == blob[:HEADER_SIZE]
    raises_auth(StreamKey.open_header, bytes(32), blob[:HEADER_SIZE])


# -- attacks -----------------------------------------------------------------------------------

BASE = plaintext(200, "base")
BLOB, REFERENCE = seal(BASE)
HEADER = BLOB[:HEADER_SIZE]
# Frames: each chunk with the tree hashes stored after it, what a server can move around.
CHUNKS = [BLOB[REFERENCE.chunk_span(k)[0] : REFERENCE.chunk_span(k)[0] + REFERENCE.frame_length(k)] for k in range(4)]
OTHER_BLOB, _ = seal(BASE, file_key=hashlib.sha256(b"another file key").digest())
RESEALED, _ = seal(BASE, salt=hashlib.sha256(b"another salt").digest())


def crafted(plan: list[tuple[int, bytes, bool]]) -> bytes:
    key, tree = StreamKey.create(FILE_KEY, suite=Suite.AES_256_GCM, chunk_size=SMALL, _salt=SALT), TreeBuilder()
    return key.header_bytes + b"".join((c := key.seal_chunk(i, data, last)) + tree.add(c) for i, data, last in plan)


P = [BASE[i : i + 64] for i in range(0, 200, 64)]
ATTACKS: dict[str, bytes] = {
    "truncated to one chunk": HEADER + CHUNKS[0],
    "final chunk dropped": HEADER + b"".join(CHUNKS[:3]),
    "cut inside the final chunk": BLOB[:-5],
    "header only": HEADER,
    "chunks 0 and 1 swapped": HEADER + CHUNKS[1] + CHUNKS[0] + CHUNKS[2] + CHUNKS[3],
    "chunk 1 duplicated": HEADER + CHUNKS[0] + CHUNKS[1] + CHUNKS[1] + CHUNKS[2] + CHUNKS[3],
    "chunk 2 replaced by chunk 1": HEADER + CHUNKS[0] + CHUNKS[1] + CHUNKS[1] + CHUNKS[3],
    "chunk appended": BLOB + CHUNKS[0],
    "bytes appended": BLOB + b"\x00" * 5,
    "one byte appended": BLOB + b"\x00",
    "another blob's chunks appended": BLOB + OTHER_BLOB[HEADER_SIZE:],
    "final chunk without the last flag": crafted([(k, P[k], False) for k in range(4)]),
    "early last flag": crafted([(0, P[0], False), (1, P[1], True), (2, P[2], False), (3, P[3], True)]),
    "empty final chunk after a full one": crafted([(0, P[0], False), (1, P[1], False), (2, P[2], False),
                                                   (3, b"", True)]),
    "final tree hash bit flipped": BLOB[:-1] + bytes((BLOB[-1] ^ 1,)),
    "tag bit flipped": BLOB[:REFERENCE.chunk_span(1)[0] + 79] + bytes((BLOB[REFERENCE.chunk_span(1)[0] + 79] ^ 1,))
    + BLOB[REFERENCE.chunk_span(1)[0] + 80 :],
    "leaf bit flipped": BLOB[:REFERENCE.chunk_span(1)[0] + 80] + bytes((BLOB[REFERENCE.chunk_span(1)[0] + 80] ^ 1,))
    + BLOB[REFERENCE.chunk_span(1)[0] + 81 :],
    "tree stripped": HEADER + b"".join(c[:80] for c in CHUNKS[:3]) + CHUNKS[3][:24],
    "salt bit flipped": BLOB[:10] + bytes((BLOB[10] ^ 1,)) + BLOB[11:],
    "commitment bit flipped": BLOB[:69] + bytes((BLOB[69] ^ 1,)) + BLOB[70:],
    "suite byte changed": BLOB[:4] + b"\x02" + BLOB[5:],
    "chunk size byte changed": BLOB[:5] + b"\x07" + BLOB[6:],
    "swapped file": OTHER_BLOB,
    "same file key and content, another salt": RESEALED,
}


def consistent(blob: bytes) -> AttachmentReference:
    """The genuine reference with the root of the bytes where the tampered blob has its chunks: the root
    alone cannot catch it."""
    return AttachmentReference(FILE_KEY, REFERENCE.suite, SMALL, REFERENCE.size, "image/png",
                               tree_root(blob, SMALL, REFERENCE.size))


OPENERS: dict[str, Callable[[AttachmentReference, bytes], bytes]] = {
    "open_stream": open_all,
    "open_stream in 7-byte pieces": lambda ref, blob: b"".join(
        open_stream(ref, [blob[i : i + 7] for i in range(0, len(blob), 7)])),
    "decryptor": lambda ref, blob: (lambda d: d.update(blob) + d.finalize())(AttachmentDecryptor(ref)),
    "decryptor byte by byte": lambda ref, blob: (lambda d: b"".join(d.update(blob[i : i + 1])
                                                 for i in range(len(blob))) + d.finalize())(AttachmentDecryptor(ref)),
}


@pytest.mark.parametrize("opener", list(OPENERS))
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_attack_is_rejected_by_every_opening_path(attack: str, opener: str) -> None:
    blob = ATTACKS[attack]
    # A valid blob under the same file key is only "wrong" because the reference names another root.
    references = [REFERENCE] if blob == RESEALED else [REFERENCE, consistent(blob)]
    for reference in references:
        raises_auth(OPENERS[opener], reference, blob)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_random_access_reader_rejects_every_attack_on_open_read_or_verify(attack: str) -> None:
    def read_all() -> None:
        reader = AttachmentReader(consistent(ATTACKS[attack]), io.BytesIO(ATTACKS[attack]))
        reader.read()
        reader.verify()

    if attack == "same file key and content, another salt":
        read_all_but_verify = AttachmentReader(REFERENCE, io.BytesIO(RESEALED))
        raises_auth(read_all_but_verify.read)  # authentic under the file key, but not in the reference's tree
        raises_auth(read_all_but_verify.verify)
        return
    raises_auth(read_all)


def test_the_opaque_error_says_nothing_and_the_header_errors_name_their_field() -> None:
    for offset, value, field in [(0, b"DVM", "magic"), (3, b"\x01", "version"), (4, b"\x00", "suite"),
                                 (4, b"\x03", "suite"), (5, b"\x05", "chunk_size"), (5, b"\x15", "chunk_size")]:
        tampered = BLOB[:offset] + value + BLOB[offset + len(value) :]
        with pytest.raises(FormatError) as info:
            open_all(consistent(tampered), tampered)
        assert info.value.field == field
    for short in (b"", HEADER[:69]):
        with pytest.raises(FormatError) as info:
            open_all(REFERENCE, short)
        assert info.value.field == "header"


# -- what a streaming reader is given ----------------------------------------------------------


def released_before_error(reference: AttachmentReference, blob: bytes) -> list[bytes]:
    released: list[bytes] = []
    with pytest.raises(AuthenticationError):
        for piece in open_stream(reference, io.BytesIO(blob)):
            released.append(piece)
    return released


def test_a_stream_releases_only_an_authentic_prefix_never_the_final_chunk_unverified() -> None:
    assert released_before_error(REFERENCE, RESEALED) == P[:3]  # everything but the root is valid
    dropped = ATTACKS["final chunk dropped"]
    assert released_before_error(consistent(dropped), dropped) == P[:3]  # chunk 2 is authentic and not final
    says_192 = AttachmentReference(FILE_KEY, Suite.AES_256_GCM, SMALL, 192, "image/png", tree_root(dropped, SMALL, 192))
    assert released_before_error(says_192, dropped) == P[:2]  # chunk 2 was not sealed as the final chunk
    assert released_before_error(REFERENCE, ATTACKS["chunk appended"]) == P[:3]
    decryptor = AttachmentDecryptor(REFERENCE)
    assert decryptor.update(RESEALED) == b"".join(P[:3])
    raises_auth(decryptor.finalize)


def test_a_decryptor_refuses_everything_after_an_error() -> None:
    decryptor = AttachmentDecryptor(REFERENCE)
    raises_auth(decryptor.update, HEADER + CHUNKS[1] + CHUNKS[0])
    raises_auth(decryptor.update, b"")
    raises_auth(decryptor.finalize)


def test_an_encryptor_has_no_reference_before_it_finishes_and_seals_nothing_after() -> None:
    encryptor = AttachmentEncryptor()
    encryptor.update(b"abc")
    with pytest.raises(DomviaError):
        _ = encryptor.reference
    encryptor.finalize()
    with pytest.raises(DomviaError):
        encryptor.finalize()
    with pytest.raises(DomviaError, match="already finished"):
        encryptor.update(b"more")  # less than a chunk: it used to be buffered and silently dropped
    stream = seal_stream([b"abc"])
    with pytest.raises(DomviaError):
        _ = stream.reference


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"chunk_size": 100}, FormatError), ({"chunk_size": 32}, FormatError), ({"chunk_size": 1 << 21}, FormatError),
    ({"content_type": "no spaces allowed"}, FormatError), ({"content_type": ""}, FormatError),
])
def test_encryptor_arguments_are_checked(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        AttachmentEncryptor(**kwargs)  # type: ignore[arg-type]


# -- sources: files, pipes with short reads, iterables -----------------------------------------


class ShortReads(io.RawIOBase):
    """A raw stream that never returns more than 7 bytes per read, as a pipe may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(7, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_short_reads_pipes_and_odd_pieces_are_all_the_same_attachment() -> None:
    data = plaintext(1000)
    blob, reference = seal(data)
    assert open_all(reference, blob) == data
    assert b"".join(open_stream(reference, ShortReads(blob))) == data
    assert b"".join(open_stream(reference, [bytearray(blob[:3]), memoryview(blob[3:500]), blob[500:]])) == data
    read_fd, write_fd = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_fd, blob), os.close(write_fd)))
    writer.start()
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        assert b"".join(open_stream(reference, pipe)) == data
    writer.join()
    stream = seal_stream(ShortReads(data), chunk_size=SMALL)
    sealed = b"".join(stream)
    assert open_all(stream.reference, sealed) == data


def test_seal_file_and_open_file_report_progress() -> None:
    data, sealed, opened = plaintext(300), io.BytesIO(), io.BytesIO()
    sealing: list[int] = []
    opening: list[int] = []
    reference = seal_file(io.BytesIO(data), sealed, chunk_size=SMALL, progress=sealing.append)
    open_file(reference, io.BytesIO(sealed.getvalue()), opened, progress=opening.append)
    assert opened.getvalue() == data
    assert sealing == opening == [64, 128, 192, 256, 300]


# -- random access -----------------------------------------------------------------------------


@given(size=near_boundaries(SMALL), start=st.integers(0, 400), length=st.integers(0, 200))
def test_reader_seeks_and_reads_any_range(size: int, start: int, length: int) -> None:
    data = plaintext(size)
    blob, reference = seal(data, suite=Suite.XCHACHA20_POLY1305)
    reader = AttachmentReader(reference, io.BytesIO(blob))
    assert reader.seek(start) == start
    assert reader.read(length) == data[start : start + length]
    assert reader.tell() == start + len(data[start : start + length])
    assert io.BufferedReader(AttachmentReader(reference, io.BytesIO(blob))).read() == data
    reader.verify()


def proof(index: int, blob: bytes = BLOB) -> bytes:
    return b"".join(blob[at : at + 32] for at in REFERENCE.proof_offsets(index))


def test_open_chunk_opens_each_chunk_alone_and_only_at_its_place() -> None:
    chunks = [BLOB[at : at + n] for at, n in map(REFERENCE.chunk_span, range(4))]
    for k in range(4):
        assert open_chunk(REFERENCE, HEADER, k, chunks[k], proof(k)) == P[k]
        raises_auth(open_chunk, REFERENCE, HEADER, k, chunks[k], proof(k)[:-32])
        raises_auth(open_chunk, REFERENCE, HEADER, k, chunks[k], proof(k) + bytes(32))
        raises_auth(open_chunk, REFERENCE, HEADER, k, chunks[k], bytes(len(proof(k))))
    raises_auth(open_chunk, REFERENCE, HEADER, 1, chunks[2], proof(1))
    raises_auth(open_chunk, REFERENCE, HEADER, 2, chunks[2][:-1], proof(2))
    raises_auth(open_chunk, REFERENCE, OTHER_BLOB[:HEADER_SIZE], 0, chunks[0], proof(0))
    for index in (-1, 4, 2**40):
        with pytest.raises(FormatError) as info:
            open_chunk(REFERENCE, HEADER, index, chunks[0], b"")
        assert info.value.field == "index"
    with pytest.raises(FormatError):
        open_chunk(REFERENCE, HEADER + b"\x00", 0, chunks[0], proof(0))


@given(count=st.integers(1, 70), index=st.integers(0, 69))
def test_every_proof_has_at_most_two_hashes_per_level_and_names_the_root(count: int, index: int) -> None:
    index %= count
    blob, reference = seal(plaintext(count * SMALL - 3))
    assert len(reference.proof_offsets(index)) <= 2 * count.bit_length()
    at, length = reference.chunk_span(index)
    proof_bytes = b"".join(blob[o : o + 32] for o in reference.proof_offsets(index))
    assert open_chunk(reference, blob[:HEADER_SIZE], index, blob[at : at + length], proof_bytes)


def test_reader_refuses_a_blob_of_the_wrong_length_before_any_read() -> None:
    raises_auth(AttachmentReader, REFERENCE, io.BytesIO(BLOB + b"\x00"))
    raises_auth(AttachmentReader, REFERENCE, io.BytesIO(BLOB[:-1]))


# -- secrets stay out of sight -----------------------------------------------------------------


def test_no_repr_shows_the_file_key() -> None:
    encryptor = AttachmentEncryptor(_file_key=FILE_KEY)
    encryptor.finalize()
    key = StreamKey.create(FILE_KEY, suite=Suite.AES_256_GCM, chunk_size=SMALL)
    stream = seal_stream([b"x"])
    for thing in (REFERENCE, encryptor, key, AttachmentDecryptor(REFERENCE), stream,
                  AttachmentReader(REFERENCE, io.BytesIO(BLOB))):
        text = repr(thing) + str(thing)
        assert FILE_KEY.hex() not in text and "redacted" in text, text


def test_iterating_a_generator_source_is_lazy() -> None:
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        for index in range(1000):
            pulled.append(index)
            yield plaintext(SMALL, str(index))

    stream = seal_stream(source(), chunk_size=SMALL)
    for _ in range(3):
        next(stream)
    assert len(pulled) <= 4
