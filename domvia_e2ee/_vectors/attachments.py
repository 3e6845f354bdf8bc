"""Vectors and conformance handlers for attachments (spec/attachment.md, "Conformance").

Private: the fixed file keys and salts live only here. cases() is deterministic; every must-fail case
is kept only after checking that the built-in handler fails with exactly the expected code. Most
tampered blobs come with a *consistent* reference (its size and root recomputed for the tampered
blob), so each case is caught by the check it names and not merely by the root.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable
from typing import Any

from ..attachment import AttachmentReference, parse_reference
from ..conformance_attachment import OPS
from ..attachment_stream import HEADER_SIZE, StreamKey, chunk_count, chunk_span, encrypted_size
from ..attachment_tree import TreeBuilder
from ..hazmat.suites import Suite
from .fixtures import invalid, valid

Case = dict[str, Any]
Input = dict[str, Any]
Handler = Callable[[Input], dict[str, Any]]

# -- fixtures ----------------------------------------------------------------------------------


def seed(label: str, size: int = 32) -> bytes:
    return hashlib.shake_256(b"domvia-e2ee vectors/attachment/" + label.encode()).digest(size)


def seal_input(name: str, size: int, *, suite: str = "A256GCM", chunk_size: int = 64,
               content_type: str = "application/octet-stream", file_key: str = "file-key/1") -> Input:
    return {"file_key": seed(file_key).hex(), "salt": seed(f"salt/{name}").hex(), "suite": suite,
            "chunk_size": chunk_size, "content_type": content_type, "plaintext": seed(f"plaintext/{name}", size).hex()}


class Sealed:
    """One sealed vector attachment, with the tools to tamper with it."""

    def __init__(self, inputs: Input) -> None:
        out = OPS["attachment_seal"](inputs)
        self.inputs = inputs
        self.blob = bytes.fromhex(out["blob"])
        self.reference_text: str = out["reference"]
        self.reference = parse_reference(self.reference_text)
        self.chunk_size: int = inputs["chunk_size"]

    @property
    def header(self) -> bytes:
        return self.blob[:HEADER_SIZE]

    def chunks(self) -> list[bytes]:
        """The encrypted chunks alone (ciphertext and tag), without the tree hashes after each."""
        return [self.blob[at : at + n] for at, n in map(self.reference.chunk_span, range(self.reference.chunk_count))]

    def frames(self) -> list[bytes]:
        """Each chunk with the tree hashes stored after it: what a server can move around."""
        return [self.blob[at : at + self.reference.frame_length(k)]
                for k, (at, _) in enumerate(map(self.reference.chunk_span, range(self.reference.chunk_count)))]

    def proof(self, index: int, blob: bytes | None = None) -> bytes:
        blob = self.blob if blob is None else blob
        return b"".join(blob[at : at + 32] for at in self.reference.proof_offsets(index))

    def consistent(self, blob: bytes, **changes: Any) -> str:
        """A reference for `blob` that differs from the genuine one only where the blob forces it:
        the size when some size gives exactly this blob length, and the root recomputed from the bytes at
        the chunk positions that size gives."""
        fields: dict[str, Any] = {"file_key": self.reference.file_key, "suite": self.reference.suite,
                  "chunk_size": self.reference.chunk_size, "size": self.reference.size,
                  "content_type": self.reference.content_type}
        fields.update(changes)
        fields["size"] = size_for(len(blob), fields["chunk_size"], fields["size"])
        fields["root"] = tree_root(blob, fields["chunk_size"], fields["size"])
        return AttachmentReference(**fields).to_json().decode("ascii")

    def open_input(self, blob: bytes | None = None, reference: str | None = None, **changes: Any) -> Input:
        blob = self.blob if blob is None else blob
        return {"reference": reference or self.consistent(blob, **changes), "blob": blob.hex()}


def size_for(blob_length: int, chunk_size: int, fallback: int) -> int:
    """The plaintext size whose blob has this length, if there is one (encrypted_size strictly increases)."""
    size = bisect.bisect_left(range(blob_length + 1), blob_length, key=lambda n: encrypted_size(n, chunk_size))
    return size if size <= blob_length and encrypted_size(size, chunk_size) == blob_length else fallback


def tree_root(blob: bytes, chunk_size: int, size: int) -> bytes:
    """The root of a tree over whatever bytes `blob` has where a reference of `size` puts each chunk."""
    tree = TreeBuilder()
    for index in range(chunk_count(size, chunk_size)):
        at, length = chunk_span(index, size, chunk_size)
        tree.add(blob[at : at + length])
    return tree.root(blob[:HEADER_SIZE])


def sealed_chunks(inputs: Input, plan: list[tuple[int, bytes, bool]]) -> bytes:
    """A blob built chunk by chunk with the file key, each chunk followed by its tree hashes: what only a
    buggy or malicious sender can make."""
    key = StreamKey.create(bytes.fromhex(inputs["file_key"]), suite=Suite.from_label(inputs["suite"]),
                           chunk_size=inputs["chunk_size"], _salt=bytes.fromhex(inputs["salt"]))
    tree = TreeBuilder()
    frames = [(sealed := key.seal_chunk(index, data, last)) + tree.add(sealed) for index, data, last in plan]
    return key.header_bytes + b"".join(frames)


def patch(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


# -- cases -------------------------------------------------------------------------------------

SEALS: dict[str, tuple[str, Input]] = {
    "empty": ("the empty attachment is one empty final chunk", seal_input("empty", 0)),
    "one-byte": ("one byte: one final chunk of 1 byte", seal_input("one-byte", 1)),
    "one-short-chunk": ("63 bytes with 64-byte chunks: one final chunk", seal_input("one-short-chunk", 63)),
    "exactly-one-chunk": ("64 bytes: one full final chunk, no empty chunk after it",
                          seal_input("exactly-one-chunk", 64)),
    "one-chunk-plus-one": ("65 bytes: a full chunk, then a final chunk of 1 byte", seal_input("one-chunk-plus-one", 65)),
    "three-full-chunks": ("192 bytes: three full chunks, the third final", seal_input("three-full-chunks", 192)),
    "four-chunks": ("200 bytes: three full chunks and a final chunk of 8 bytes", seal_input("four-chunks", 200)),
    "xchacha-four-chunks": ("XChaCha20-Poly1305, 200 bytes in 64-byte chunks",
                            seal_input("xchacha-four-chunks", 200, suite="XC20P")),
    "xchacha-empty": ("XChaCha20-Poly1305, the empty attachment", seal_input("xchacha-empty", 0, suite="XC20P")),
    "chunk-128": ("128-byte chunks, 300 bytes", seal_input("chunk-128", 300, chunk_size=128, content_type="image/png")),
    "default-chunk": ("the default 64 KiB chunk size, 1000 bytes",
                      seal_input("default-chunk", 1000, chunk_size=65536, content_type="video/mp4")),
    "largest-chunk": ("the largest chunk size, 2^20, 100 bytes",
                      seal_input("largest-chunk", 100, chunk_size=1 << 20, content_type="application/pdf")),
}


def cases() -> list[Case]:
    from .attachment_access import chunk_cases, reference_cases  # they use the tools above

    return seal_cases() + open_cases() + header_cases() + stream_attack_cases() + chunk_cases() + reference_cases()


def seal_cases() -> list[Case]:
    return [valid(f"attachment-seal-{name}", "attachment_seal", text, inputs) for name, (text, inputs) in SEALS.items()]


def open_cases() -> list[Case]:
    out = []
    for name, (text, inputs) in SEALS.items():
        genuine = Sealed(inputs)
        out.append(valid(f"attachment-open-{name}", "attachment_open", text,
                         {"reference": genuine.reference_text, "blob": genuine.blob.hex()}))
    return out


def header_cases() -> list[Case]:
    base = Sealed(SEALS["four-chunks"][1])
    blob, op = base.blob, "attachment_open"

    def bad(case_id: str, text: str, tampered: bytes, code: str, reject: str, **changes: Any) -> Case:
        return invalid(case_id, op, text, base.open_input(tampered, **changes), code, reject)

    return [
        bad("attachment-open-empty-blob", "an empty blob has no header", b"", "E_FORMAT", "MR-ATT-HEADER-TRUNCATED"),
        bad("attachment-open-header-cut", "a blob cut inside the 70-byte header", blob[:40], "E_FORMAT",
            "MR-ATT-HEADER-TRUNCATED"),
        bad("attachment-open-magic-message", "a sealed message's magic DVM instead of DVA",
            patch(blob, 0, b"DVM\x01"), "E_FORMAT", "MR-ATT-MAGIC"),
        bad("attachment-open-version-1", "version byte 1: the format before the chunk tree", patch(blob, 3, b"\x01"),
            "E_FORMAT", "MR-ATT-VERSION"),
        bad("attachment-open-version-3", "version byte 3", patch(blob, 3, b"\x03"), "E_FORMAT", "MR-ATT-VERSION"),
        bad("attachment-open-suite-0", "suite byte 0", patch(blob, 4, b"\x00"), "E_FORMAT", "MR-ATT-SUITE"),
        bad("attachment-open-suite-3", "suite byte 3", patch(blob, 4, b"\x03"), "E_FORMAT", "MR-ATT-SUITE"),
        bad("attachment-open-chunk-log2-5", "chunk size 2^5, below the minimum", patch(blob, 5, b"\x05"), "E_FORMAT",
            "MR-ATT-CHUNK-SIZE"),
        bad("attachment-open-chunk-log2-21", "chunk size 2^21, above the maximum", patch(blob, 5, b"\x15"),
            "E_FORMAT", "MR-ATT-CHUNK-SIZE"),
        bad("attachment-open-header-suite-changed", "suite byte changed 1 -> 2 (reference agrees): the commitment fails",
            patch(blob, 4, b"\x02"), "E_AUTH", "MR-ATT-HEADER-TAMPERED", suite=Suite.XCHACHA20_POLY1305),
        bad("attachment-open-header-chunk-size-changed",
            "chunk size byte changed 2^6 -> 2^7 (reference agrees): the commitment fails",
            patch(blob, 5, b"\x07"), "E_AUTH", "MR-ATT-HEADER-TAMPERED", chunk_size=128),
        bad("attachment-open-salt-flipped", "one bit of the salt flipped", patch(blob, 6, bytes((blob[6] ^ 1,))),
            "E_AUTH", "MR-ATT-HEADER-TAMPERED"),
        bad("attachment-open-commitment-flipped", "one bit of the key commitment flipped",
            patch(blob, 69, bytes((blob[69] ^ 0x80,))), "E_AUTH", "MR-ATT-HEADER-TAMPERED"),
    ]


def stream_attack_cases() -> list[Case]:
    base = Sealed(SEALS["four-chunks"][1])
    header, (c0, c1, c2, c3) = base.header, base.frames()
    plain = bytes.fromhex(base.inputs["plaintext"])
    other = Sealed(seal_input("other-file", 200, file_key="file-key/2"))
    resealed = Sealed(seal_input("resealed", 200) | {"plaintext": base.inputs["plaintext"]})
    sibling = Sealed(base.inputs | {"plaintext": seed("plaintext/sibling", 200).hex()})  # same key and header
    s2 = sibling.frames()[2]
    xchacha = Sealed(seal_input("four-chunks", 200, suite="XC20P"))
    wide = Sealed(seal_input("four-chunks", 200, chunk_size=128))
    op = "attachment_open"

    def bad(case_id: str, text: str, inputs: Input, reject: str) -> Case:
        return invalid(case_id, op, text, inputs, "E_AUTH", reject)

    def crafted(plan: list[tuple[int, bytes, bool]]) -> bytes:
        return sealed_chunks(base.inputs, plan)

    p = [plain[at : at + 64] for at in range(0, 200, 64)]
    return [
        bad("attachment-open-truncated-to-one-chunk", "truncated at a chunk boundary: chunks 1-3 dropped",
            base.open_input(header + c0), "MR-ATT-TRUNCATED"),
        bad("attachment-open-last-chunk-dropped", "the final chunk dropped: chunk 2 is not flagged final",
            base.open_input(header + c0 + c1 + c2), "MR-ATT-TRUNCATED"),
        bad("attachment-open-cut-mid-chunk", "the last 5 bytes cut off", base.open_input(base.blob[:-5]),
            "MR-ATT-TRUNCATED"),
        bad("attachment-open-header-only", "every chunk dropped", base.open_input(header), "MR-ATT-TRUNCATED"),
        bad("attachment-open-truncated-genuine-reference", "truncated, opened with the genuine reference",
            base.open_input(header + c0 + c1, reference=base.reference_text), "MR-ATT-TRUNCATED"),
        bad("attachment-open-reordered", "chunks 0 and 1 swapped", base.open_input(header + c1 + c0 + c2 + c3),
            "MR-ATT-REORDERED"),
        bad("attachment-open-duplicated", "chunk 1 duplicated", base.open_input(header + c0 + c1 + c1 + c2 + c3),
            "MR-ATT-DUPLICATED"),
        bad("attachment-open-chunk-replaced", "chunk 2 replaced by a copy of chunk 1",
            base.open_input(header + c0 + c1 + c1 + c3), "MR-ATT-DUPLICATED"),
        bad("attachment-open-chunk-appended", "a copy of chunk 0 appended after the final chunk",
            base.open_input(base.blob + c0), "MR-ATT-APPENDED"),
        bad("attachment-open-bytes-appended", "5 bytes appended", base.open_input(base.blob + b"\x00" * 5),
            "MR-ATT-APPENDED"),
        bad("attachment-open-appended-genuine-reference", "a chunk appended, opened with the genuine reference",
            base.open_input(base.blob + c0, reference=base.reference_text), "MR-ATT-APPENDED"),
        bad("attachment-open-two-blobs", "another attachment's chunks appended",
            base.open_input(base.blob + other.blob[HEADER_SIZE:]), "MR-ATT-APPENDED"),
        bad("attachment-open-final-flag-missing", "the final chunk sealed without the last-chunk flag",
            base.open_input(crafted([(0, p[0], False), (1, p[1], False), (2, p[2], False), (3, p[3], False)])),
            "MR-ATT-LAST-FLAG"),
        bad("attachment-open-final-flag-early", "chunk 1 sealed with the last-chunk flag, chunks follow it",
            base.open_input(crafted([(0, p[0], False), (1, p[1], True), (2, p[2], False), (3, p[3], True)])),
            "MR-ATT-LAST-FLAG"),
        bad("attachment-open-empty-final-chunk", "an authentic empty final chunk after a full one",
            base.open_input(crafted([(0, p[0], False), (1, b"", True)])), "MR-ATT-EMPTY-FINAL"),
        bad("attachment-open-chunk-tag-flipped", "one bit of chunk 1's tag flipped",
            base.open_input(header + c0 + patch(c1, 79, bytes((c1[79] ^ 1,))) + c2 + c3), "MR-ATT-TAMPERED"),
        bad("attachment-open-chunk-ciphertext-flipped", "one bit of chunk 3's ciphertext flipped",
            base.open_input(header + c0 + c1 + c2 + bytes((c3[0] ^ 1,)) + c3[1:]), "MR-ATT-TAMPERED"),
        bad("attachment-open-swapped-file", "another attachment's blob (another file key), digest recomputed",
            base.open_input(other.blob), "MR-ATT-SWAPPED"),
        bad("attachment-open-swapped-file-genuine-reference", "another attachment's blob, the genuine reference",
            base.open_input(other.blob, reference=base.reference_text), "MR-ATT-SWAPPED"),
        bad("attachment-open-root-mismatch",
            "the same content and file key sealed again (another salt): valid, but not the blob referenced",
            base.open_input(resealed.blob, reference=base.reference_text), "MR-ATT-ROOT"),
        bad("attachment-open-sibling-blob", "another blob sealed under the same file key and header, the genuine "
            "reference: every frame is consistent, only the root tells", base.open_input(sibling.blob,
            reference=base.reference_text), "MR-ATT-ROOT"),
        bad("attachment-open-other-blob-chunk", "chunk 2 with its hashes from another blob under the same header: "
            "frame 3's nodes no longer match", base.open_input(header + c0 + c1 + s2 + c3), "MR-ATT-TREE"),
        bad("attachment-open-leaf-flipped", "one bit of the leaf stored after chunk 0 flipped",
            base.open_input(header + patch(c0, 80, bytes((c0[80] ^ 1,))) + c1 + c2 + c3), "MR-ATT-TREE"),
        bad("attachment-open-node-flipped", "one bit of the level-1 node stored after chunk 1 flipped",
            base.open_input(header + c0 + patch(c1, 112, bytes((c1[112] ^ 1,))) + c2 + c3), "MR-ATT-TREE"),
        bad("attachment-open-tree-truncated", "the last tree hash (the root's node after the final chunk) cut off",
            base.open_input(base.blob[:-32], reference=base.reference_text), "MR-ATT-TREE"),
        bad("attachment-open-tree-stripped", "the chunks alone, without any tree hash (the version 1 layout)",
            base.open_input(header + b"".join(base.chunks())), "MR-ATT-TREE"),
        bad("attachment-open-wrong-suite", "a genuine XChaCha blob under the same file key; the reference says A256GCM",
            base.open_input(xchacha.blob, suite=Suite.AES_256_GCM), "MR-ATT-MISMATCH"),
        bad("attachment-open-wrong-chunk-size", "a genuine 128-byte-chunk blob; the reference says 64",
            base.open_input(wide.blob, chunk_size=64), "MR-ATT-MISMATCH"),
        bad("attachment-open-wrong-size", "the reference's size is one byte more than the content",
            base.open_input(base.blob, reference=base.reference_text.replace('"size":200', '"size":201')),
            "MR-ATT-MISMATCH"),
    ]
