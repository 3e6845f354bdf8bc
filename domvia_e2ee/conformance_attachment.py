"""The built-in implementation of the attachment conformance operations (spec/attachment.md)."""

from __future__ import annotations

from typing import Any

from .attachment import AttachmentEncryptor, open_chunk, open_stream, parse_reference
from .conformance_ops import Handler, Input, unhex
from .errors import FormatError
from .hazmat.suites import Suite

def op_seal(i: Input) -> dict[str, Any]:
    encryptor = AttachmentEncryptor(content_type=i["content_type"], suite=Suite.from_label(i["suite"]),
                                    chunk_size=i["chunk_size"], _file_key=_key(i["file_key"]),
                                    _salt=unhex(i["salt"], "salt"))
    blob = encryptor.update(unhex(i["plaintext"], "plaintext")) + encryptor.finalize()
    return {"blob": blob.hex(), "reference": encryptor.reference.to_json().decode("ascii")}


def op_open(i: Input) -> dict[str, Any]:
    reference = parse_reference(i["reference"])
    return {"plaintext": b"".join(open_stream(reference, [unhex(i["blob"], "blob")])).hex()}


def op_open_chunk(i: Input) -> dict[str, Any]:
    reference = parse_reference(i["reference"])
    plaintext = open_chunk(reference, unhex(i["header"], "header"), i["index"], unhex(i["chunk"], "chunk"),
                           unhex(i["proof"], "proof"))
    return {"plaintext": plaintext.hex()}


def op_reference_parse(i: Input) -> dict[str, Any]:
    ref = parse_reference(i["reference"])
    return {"file_key": ref.file_key.hex(), "suite": ref.suite.label, "chunk_size": ref.chunk_size,
            "size": ref.size, "content_type": ref.content_type, "root": ref.root.hex(),
            "chunk_count": ref.chunk_count, "encrypted_size": ref.encrypted_size,
            "canonical": ref.to_json().decode("ascii")}


def _key(value: object) -> bytes:
    key = unhex(value, "file_key")
    if len(key) != 32:
        raise FormatError("file_key", "must be 32 bytes")
    return key


OPS: dict[str, Handler] = {
    "attachment_seal": op_seal, "attachment_open": op_open, "attachment_open_chunk": op_open_chunk,
    "attachment_reference_parse": op_reference_parse,
}
