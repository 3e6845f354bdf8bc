"""Attachment vectors for random access (a chunk with its inclusion proof) and the reference's parser
(spec/attachment.md, "Random access", "Attachment reference"). The tools are attachments.py's."""

from __future__ import annotations

import json
from typing import Any

from ..encoding import b64decode, b64encode
from .attachments import SEALS, Case, Input, Sealed, patch, seed
from .fixtures import invalid, valid


def chunk_cases() -> list[Case]:
    base = Sealed(SEALS["four-chunks"][1])
    chunks, header = base.chunks(), base.header.hex()
    sibling = Sealed(base.inputs | {"plaintext": seed("plaintext/sibling", 200).hex()})  # same key and header
    op = "attachment_open_chunk"

    def at(index: int, chunk: bytes, proof: bytes | None = None, **changes: Any) -> Input:
        proof = base.proof(index) if proof is None else proof
        return {"reference": base.reference_text, "header": header, "index": index, "chunk": chunk.hex(),
                "proof": proof.hex()} | changes

    def bad(case_id: str, text: str, inputs: Input, code: str, reject: str) -> Case:
        return invalid(f"attachment-open-chunk-{case_id}", op, text, inputs, code, reject)

    proof_1 = base.proof(1)
    out = [valid(f"attachment-open-chunk-{k}", op, f"random access to chunk {k} of 4 alone, with its proof",
                 at(k, chunks[k])) for k in range(4)]
    out += [valid(f"attachment-open-chunk-{name}-{k}", op, f"random access to chunk {k} of {name}",
                  _chunk_input(Sealed(SEALS[name][1]), k)) for name, k in [("one-byte", 0), ("chunk-128", 2)]]
    out += [
        bad("moved", "chunk 2's bytes offered as chunk 1", at(1, chunks[2]), "E_AUTH", "MR-ATT-REORDERED"),
        bad("not-final", "chunk 2 of 4 offered as the final chunk 3 (wrong length)",
            at(3, chunks[2]), "E_AUTH", "MR-ATT-LAST-FLAG"),
        bad("index-4", "index 4 of a 4-chunk attachment", at(3, chunks[3]) | {"index": 4}, "E_FORMAT",
            "MR-ATT-INDEX"),
        bad("index-negative", "index -1", at(0, chunks[0]) | {"index": -1}, "E_FORMAT", "MR-ATT-INDEX"),
        bad("header-tampered", "the header's salt flipped",
            at(0, chunks[0], header=patch(base.header, 10, b"\xff").hex()), "E_AUTH", "MR-ATT-HEADER-TAMPERED"),
        bad("header-short", "a 69-byte header", at(0, chunks[0], header=header[:-2]), "E_FORMAT",
            "MR-ATT-HEADER-TRUNCATED"),
        bad("truncated", "chunk 0 missing its last byte", at(0, chunks[0][:-1]), "E_AUTH", "MR-ATT-TRUNCATED"),
        bad("other-blob", "chunk 2 of another blob under the same file key and header, with that blob's proof: "
            "it decrypts, but it is not the chunk the reference's tree holds",
            at(2, sibling.chunks()[2], sibling.proof(2)), "E_AUTH", "MR-ATT-NOT-IN-TREE"),
        bad("other-blob-genuine-proof", "chunk 1 of another blob under the same header, with the genuine proof",
            at(1, sibling.chunks()[1]), "E_AUTH", "MR-ATT-NOT-IN-TREE"),
        bad("proof-flipped", "one bit of the proof's first hash flipped",
            at(1, chunks[1], patch(proof_1, 0, bytes((proof_1[0] ^ 1,)))), "E_AUTH", "MR-ATT-PROOF"),
        bad("proof-last-flipped", "one bit of the proof's last hash flipped",
            at(1, chunks[1], patch(proof_1, len(proof_1) - 1, bytes((proof_1[-1] ^ 0x80,)))), "E_AUTH",
            "MR-ATT-PROOF"),
        bad("proof-of-another-index", "chunk 1 with chunk 0's proof", at(1, chunks[1], base.proof(0)), "E_AUTH",
            "MR-ATT-PROOF"),
        bad("proof-truncated", "the proof missing its last hash", at(1, chunks[1], proof_1[:-32]), "E_AUTH",
            "MR-ATT-PROOF"),
        bad("proof-extended", "the proof with one hash too many", at(1, chunks[1], proof_1 + proof_1[:32]),
            "E_AUTH", "MR-ATT-PROOF"),
        bad("proof-empty", "no proof", at(1, chunks[1], b""), "E_AUTH", "MR-ATT-PROOF"),
    ]
    return out


def _chunk_input(sealed: Sealed, index: int) -> Input:
    return {"reference": sealed.reference_text, "header": sealed.header.hex(), "index": index,
            "chunk": sealed.chunks()[index].hex(), "proof": sealed.proof(index).hex()}


def reference_cases() -> list[Case]:
    genuine = Sealed(SEALS["four-chunks"][1])
    text = genuine.reference_text
    obj = genuine.reference.to_dict()
    op = "attachment_reference_parse"

    def edited(**changes: Any) -> str:
        fields = {k: v for k, v in (obj | changes).items() if v is not None}
        return "{" + ",".join(f'"{k}":{_json(v)}' for k, v in sorted(fields.items())) + "}"

    def bad(case_id: str, description: str, reference: str, reject: str) -> Case:
        return invalid(f"attachment-reference-{case_id}", op, description, {"reference": reference}, "E_FORMAT", reject)

    key = obj["key"]
    return [
        valid("attachment-reference-canonical", op, "the canonical reference", {"reference": text}),
        valid("attachment-reference-not-canonical", op, "whitespace and another member order are accepted",
              {"reference": json.dumps(dict(sorted(obj.items(), reverse=True)), indent=1)}),
        valid("attachment-reference-largest", op, "the largest size: 2^32 chunks of 2^20 bytes",
              {"reference": edited(size=1 << 52, chunk_size=1 << 20)}),
        bad("version-1", "v = 1: the reference before the chunk tree", edited(v=1), "MR-ATT-REF-VERSION"),
        bad("version-1-sha256", "a version 1 reference, with its sha256 member and no root",
            edited(v=1, root=None, sha256=obj["root"]), "MR-ATT-REF-VERSION"),
        bad("version-3", "v = 3", edited(v=3), "MR-ATT-REF-VERSION"),
        bad("version-string", "v = \"2\"", edited(v="2"), "MR-ATT-REF-VERSION"),
        bad("missing-root", "no root member", edited(root=None), "MR-JSON-MISSING"),
        bad("sha256-instead-of-root", "a version 2 reference with the version 1 sha256 member instead of root",
            edited(root=None, sha256=obj["root"]), "MR-JSON-UNKNOWN"),
        bad("unknown-member", "an extra member name", edited(name="cat.png"), "MR-JSON-UNKNOWN"),
        bad("duplicate-size", "size given twice", text[:-1] + ',"size":200}', "MR-JSON-DUPLICATE"),
        bad("not-object", "a JSON array", "[" + text + "]", "MR-JSON-SYNTAX"),
        bad("size-float", "size 200.0", edited(size=200.0), "MR-JSON-TYPE"),
        bad("size-true", "size true", edited(size=True), "MR-JSON-TYPE"),
        bad("size-negative", "size -1", edited(size=-1), "MR-ATT-REF-SIZE"),
        bad("size-too-large", "2^32 chunks of 2^20 bytes and one byte more", edited(size=(1 << 52) + 1, chunk_size=1 << 20),
            "MR-ATT-REF-SIZE"),
        bad("too-many-chunks", "2^32 + 1 chunks of 64 bytes", edited(size=(1 << 38) + 1), "MR-ATT-REF-SIZE"),
        bad("chunk-size-100", "a chunk size that is not a power of two", edited(chunk_size=100), "MR-ATT-REF-CHUNK-SIZE"),
        bad("chunk-size-32", "chunk size 2^5", edited(chunk_size=32), "MR-ATT-REF-CHUNK-SIZE"),
        bad("chunk-size-2m", "chunk size 2^21", edited(chunk_size=1 << 21), "MR-ATT-REF-CHUNK-SIZE"),
        bad("suite-unknown", "suite A128GCM", edited(suite="A128GCM"), "MR-ATT-REF-SUITE"),
        bad("key-short", "a 31-byte key", edited(key=b64encode(b64decode(key, "key")[:-1])), "MR-B64-LENGTH"),
        bad("key-padded", "the key with base64 padding", edited(key=key + "="), "MR-B64-PAD"),
        bad("key-standard-alphabet", "a key with '+', from the standard base64 alphabet", edited(key="+" + key[1:]),
            "MR-B64-ALPHABET"),
        bad("root-noncanonical", "non-zero unused trailing bits in root", edited(root=_noncanonical(obj["root"])),
            "MR-B64-NONCANONICAL"),
        bad("root-short", "a 31-byte root", edited(root=b64encode(b64decode(obj["root"], "root")[:-1])),
            "MR-B64-LENGTH"),
        bad("content-type-space", "a content type with a space", edited(content_type="image/png; q=1"),
            "MR-CONTENT-TYPE"),
        bad("content-type-empty", "an empty content type", edited(content_type=""), "MR-CONTENT-TYPE"),
    ]


def _json(value: Any) -> str:
    return json.dumps(value)


def _noncanonical(text: str) -> str:
    # 32 bytes are 43 characters; the last carries 2 unused bits. Setting one decodes to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return text[:-1] + alphabet[alphabet.index(text[-1]) | 1]
