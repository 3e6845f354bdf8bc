"""The attachment reference: canonical JSON, strict parsing, and its trip through a sealed room message."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from core_helpers import ROOM, world
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee import Room, labels
from domvia_e2ee._vectors.attachments import OPS, cases
from domvia_e2ee.attachment import AttachmentReference, open_stream, parse_reference, seal_reference, seal_stream
from domvia_e2ee.errors import DomviaError, FormatError
from domvia_e2ee.hazmat.suites import Suite

KEY = hashlib.sha256(b"reference test key").digest()
DIGEST = hashlib.sha256(b"blob").digest()
GOOD = AttachmentReference(KEY, Suite.AES_256_GCM, 65536, 123456, "video/mp4", DIGEST)


def test_canonical_json_round_trips_and_sorts_members() -> None:
    text = GOOD.to_json()
    obj = json.loads(text)
    assert list(obj) == sorted(obj) and b" " not in text
    assert set(obj) == {"v", "key", "suite", "chunk_size", "size", "content_type", "root"} and obj["v"] == 2
    assert parse_reference(text) == GOOD
    assert parse_reference(json.dumps(obj, indent=2)) == GOOD  # receivers accept any valid form
    assert GOOD.encrypted_size == 70 + 123456 + 16 * 2 + 32 * 3 and GOOD.chunk_count == 2  # 2 leaves, 1 node


@given(size=st.integers(0, 2**40), log2=st.integers(6, 20), suite=st.sampled_from(list(Suite)))
def test_any_valid_reference_round_trips(size: int, log2: int, suite: Suite) -> None:
    if size > (1 << 32) << log2:
        with pytest.raises(FormatError):
            AttachmentReference(KEY, suite, 1 << log2, size, "a/b", DIGEST)
        return
    reference = AttachmentReference(KEY, suite, 1 << log2, size, "a/b", DIGEST)
    assert parse_reference(reference.to_json()) == reference


@pytest.mark.parametrize(("change", "field"), [
    ({"v": 1}, "v"), ({"v": 3}, "v"), ({"v": True}, "v"), ({"key": "AAAA"}, "key"), ({"root": None}, "root"),
    ({"v": 1, "root": None, "sha256": "x"}, "v"), ({"sha256": "x"}, "sha256"),
    ({"suite": "A128GCM"}, "suite"), ({"chunk_size": 65535}, "chunk_size"), ({"chunk_size": "65536"}, "chunk_size"),
    ({"size": -1}, "size"), ({"size": 1.5}, "size"), ({"size": False}, "size"),
    ({"content_type": "a b"}, "content_type"), ({"name": "x.png"}, "name"),
])
def test_each_bad_member_is_a_format_error_naming_it(change: dict[str, object], field: str) -> None:
    obj = {**json.loads(GOOD.to_json()), **change}
    obj = {k: v for k, v in obj.items() if v is not None}
    with pytest.raises(FormatError) as info:
        parse_reference(json.dumps(obj))
    assert info.value.field == field


@pytest.mark.parametrize("text", [b"", b"[]", b'{"v":1', b"\xff", b'{"v":1,"v":1}', b"{" + b" " * 2000 + b"}"])
def test_malformed_json_is_a_format_error(text: bytes) -> None:
    with pytest.raises(FormatError):
        parse_reference(text)


def test_the_reference_never_prints_its_key_and_compares_by_value() -> None:
    assert KEY.hex() not in repr(GOOD) and "redacted" in repr(GOOD) and KEY.hex() not in str(GOOD)
    same = AttachmentReference(bytes(KEY), Suite.AES_256_GCM, 65536, 123456, "video/mp4", DIGEST)
    assert same == GOOD and hash(same) == hash(GOOD)
    assert AttachmentReference(bytes(32), Suite.AES_256_GCM, 65536, 123456, "video/mp4", DIGEST) != GOOD


def test_a_reference_travels_sealed_through_the_room_and_opens_the_blob() -> None:
    identities, rings = world(("alice", "bob"))
    _, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public])
    rings["bob"].accept(rotation.bundle.to_bytes())
    content = b"a photo of the cat" * 1000
    stream = seal_stream(io.BytesIO(content), content_type="image/jpeg")
    blob = b"".join(stream)
    sealed = seal_reference(rings["alice"], ROOM, stream.reference, message_id="att-1")
    assert sealed.content_type == labels.CONTENT_TYPE_ATTACHMENT and sealed.signed and sealed.padded
    opened = rings["bob"].open(sealed.to_bytes())
    reference = AttachmentReference.from_message(opened)
    assert reference == stream.reference and reference.content_type == "image/jpeg"
    assert b"".join(open_stream(reference, [blob])) == content


def test_only_a_message_of_the_attachment_content_type_is_a_reference() -> None:
    identities, rings = world(("alice", "bob"))
    _, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public])
    rings["bob"].accept(rotation.bundle.to_bytes())
    sealed = rings["alice"].seal(ROOM, GOOD.to_json(), message_id="m-1", content_type="application/json")
    with pytest.raises(FormatError) as info:
        AttachmentReference.from_message(rings["bob"].open(sealed.to_bytes()))
    assert info.value.field == "content_type"


def test_every_built_in_vector_case_reproduces() -> None:
    built = cases()
    assert len({c["id"] for c in built}) == len(built)
    for case in built:
        if "output" in case:
            assert OPS[case["op"]](case["input"]) == case["output"], case["id"]
            continue
        with pytest.raises(DomviaError) as info:
            OPS[case["op"]](case["input"])
        assert info.value.code == case["error"], case["id"]


def test_vectors_cover_every_attack_the_issue_names() -> None:
    rejects = {c["reject"] for c in cases() if "reject" in c}
    for item in ("TRUNCATED", "REORDERED", "DUPLICATED", "APPENDED", "LAST-FLAG", "SWAPPED", "ROOT", "MISMATCH",
                 "TREE", "PROOF", "NOT-IN-TREE",
                 "MAGIC", "VERSION", "SUITE", "CHUNK-SIZE", "HEADER-TRUNCATED", "HEADER-TAMPERED", "EMPTY-FINAL"):
        assert f"MR-ATT-{item}" in rejects
