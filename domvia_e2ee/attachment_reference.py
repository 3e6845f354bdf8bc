"""The attachment reference: what a chat message carries so a member can fetch and open an attachment.

    {"chunk_size": 65536, "content_type": "image/png", "key": b64url(32), "root": b64url(32),
     "size": 12345, "suite": "A256GCM", "v": 2}

`root` commits to the header and to every encrypted chunk (attachment_tree.py): a whole-blob reader
and a random-access reader of any one chunk both check what they read against it.

It holds the file key, so it is as secret as the message: it only ever travels sealed, with the content
type CONTENT_TYPE_ATTACHMENT (spec/attachment.md, "Reference").
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any, Final

from . import labels
from .attachment_stream import (
    FILE_KEY_SIZE, check_chunk_size, check_size, chunk_count, chunk_span, encrypted_size, frame_length,
    proof_offsets,
)
from .attachment_tree import HASH_SIZE
from .encoding import b64decode, b64encode, check_content_type, check_fields, dumps, loads_object
from .errors import FormatError
from .hazmat.suites import Suite
from .group.keyring import KeyRing
from .message import SealedMessage
from .sealing import OpenedMessage

DIGEST_SIZE: Final = HASH_SIZE
"""Bytes of the root of the chunk tree."""
MAX_REFERENCE_JSON: Final = 1024
"""The largest reference JSON `parse_reference` reads."""
FIELDS: Final = ("chunk_size", "content_type", "key", "root", "size", "suite", "v")
"""Every field of a reference; all are required."""


@dataclass(frozen=True)
class AttachmentReference:
    """Everything needed to check and open one encrypted attachment. Never printed with its key.

    Returned by `seal_file` and the other sealing calls of `domvia_e2ee.attachment`; parsed from a
    message by `from_message`. Constructing one checks every field: `FormatError` (E_FORMAT) names
    the first bad one ("key", "chunk_size", "size", "content_type", "root"). `==` compares the
    key in constant time.
    """

    file_key: bytes = field(repr=False)
    suite: Suite
    chunk_size: int
    size: int
    content_type: str
    root: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.file_key, bytes) or len(self.file_key) != FILE_KEY_SIZE:
            raise FormatError("key", f"must be {FILE_KEY_SIZE} bytes")
        check_chunk_size(self.chunk_size)
        check_size(self.size, self.chunk_size)
        check_content_type(self.content_type)
        if not isinstance(self.root, bytes) or len(self.root) != DIGEST_SIZE:
            raise FormatError("root", f"must be {DIGEST_SIZE} bytes")

    def __repr__(self) -> str:
        return (f"AttachmentReference(suite={self.suite.label}, chunk_size={self.chunk_size}, size={self.size}, "
                f"content_type={self.content_type!r}, root={self.root.hex()[:16]}…, key=<redacted>)")

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AttachmentReference):
            return NotImplemented
        same_key = hmac.compare_digest(self.file_key, other.file_key)
        return same_key and self._public() == other._public()

    def __hash__(self) -> int:
        return hash(self.root)

    def _public(self) -> tuple[Suite, int, int, str, bytes]:
        return self.suite, self.chunk_size, self.size, self.content_type, self.root

    @property
    def chunk_count(self) -> int:
        """How many chunks the blob has (an empty attachment has one, empty)."""
        return chunk_count(self.size, self.chunk_size)

    @property
    def encrypted_size(self) -> int:
        """The exact length of the blob this reference describes."""
        return encrypted_size(self.size, self.chunk_size)

    def chunk_span(self, index: int) -> tuple[int, int]:
        """(offset, length) of encrypted chunk `index` in the blob: the byte range to fetch for random access.

        Raises `FormatError` (E_FORMAT) naming "index" when there is no such chunk.
        """
        return chunk_span(index, self.size, self.chunk_size)

    def frame_length(self, index: int) -> int:
        """Bytes of frame `index` (the chunk and the tree hashes after it). E_FORMAT naming "index"."""
        return frame_length(index, self.size, self.chunk_size)

    def proof_offsets(self, index: int) -> list[int]:
        """Where the 32-byte hashes of chunk `index`'s inclusion proof are in the blob, in proof order:
        fetch them with the chunk for random access. E_FORMAT naming "index" when there is no such chunk."""
        return proof_offsets(index, self.size, self.chunk_size)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, secret key included: seal it, never log it. Raises nothing."""
        return {"chunk_size": self.chunk_size, "content_type": self.content_type, "key": b64encode(self.file_key),
                "root": b64encode(self.root), "size": self.size, "suite": self.suite.label,
                "v": labels.ATTACHMENT_FORMAT_VERSION}

    def to_json(self) -> bytes:
        """Canonical JSON (sorted keys, no whitespace). Secret: seal it, never log it. Raises nothing."""
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> AttachmentReference:
        """The reference in `data`, parsed strictly: `parse_reference`. Raises `FormatError` (E_FORMAT)."""
        return parse_reference(data)

    @classmethod
    def from_message(cls, opened: OpenedMessage) -> AttachmentReference:
        """The reference inside an opened chat message; refuses a message of any other content type.

        Raises `FormatError` (E_FORMAT) naming "content_type" for a message that is not an attachment
        reference, and as `parse_reference` does for a malformed one.
        """
        if opened.content_type != labels.CONTENT_TYPE_ATTACHMENT:
            raise FormatError("content_type", f"not {labels.CONTENT_TYPE_ATTACHMENT}")
        return parse_reference(opened.plaintext)


def parse_reference(data: bytes | str) -> AttachmentReference:
    """Strict parse: every field present, typed and in range; nothing unknown; no duplicates.

    Raises `FormatError` (E_FORMAT) naming the first bad field: "reference" (not a JSON object, or
    over `MAX_REFERENCE_JSON` bytes), an unknown, missing or duplicate key, "v", "key", "suite",
    "chunk_size", "size", "content_type" or "root".
    """
    obj = loads_object(data, "reference", max_bytes=MAX_REFERENCE_JSON)
    # The version first: an older reference (v 1 had `sha256`, no `root`) is refused naming "v".
    if "v" in obj and (type(obj["v"]) is not int or obj["v"] != labels.ATTACHMENT_FORMAT_VERSION):
        raise FormatError("v", f"unsupported reference version {obj['v']!r}")
    check_fields(obj, FIELDS)
    chunk_size = check_chunk_size(obj["chunk_size"])
    return AttachmentReference(
        file_key=b64decode(obj["key"], "key", size=FILE_KEY_SIZE),
        suite=Suite.from_label(obj["suite"]),
        chunk_size=chunk_size,
        size=check_size(obj["size"], chunk_size),
        content_type=check_content_type(obj["content_type"]),
        root=b64decode(obj["root"], "root", size=DIGEST_SIZE),
    )


def seal_reference(keyring: KeyRing, room_id: str, reference: AttachmentReference, *,
                   message_id: str) -> SealedMessage:
    """Seals the reference to the room as an ordinary signed, padded chat message.

    The content type is `CONTENT_TYPE_ATTACHMENT`, which `AttachmentReference.from_message` checks.
    Raises what `KeyRing.seal` raises: `UnknownKeyError` (E_UNKNOWN_KEY) when the key ring holds
    no key for the room, `KeyExhaustedError` (E_KEY_EXHAUSTED) past the epoch's message bound,
    `FormatError` (E_FORMAT) for an invalid message id.
    """
    return keyring.seal(room_id, reference.to_json(), message_id=message_id,
                        content_type=labels.CONTENT_TYPE_ATTACHMENT)
