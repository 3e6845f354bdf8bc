"""Attack: oversized and resource-exhausting inputs (size limits, no memory blow-up).

Sources: uncontrolled resource consumption (CWE-400) and allocation from untrusted length fields
(CWE-789): a count or length in a header is believed and memory is reserved for it, or a deeply
nested or huge JSON document exhausts the parser; for a relay, sending such payloads costs nothing.

Why it fails here: each wire form has a size limit checked before parsing (spec/encoding.md and
spec/message.md: 69,632 bytes for a binary message, 98,304 for its JSON, 64 KiB for a slice,
8 KiB for a public identity, 1 MiB for other JSON, 128 MiB for a bundle, 64 MiB for a history
bundle); counts (members, entries, roster, path length) have maxima and are read item by item from
bytes that must be present, so nothing is allocated for an item before its bytes are read; JSON
nesting and integer size errors are format errors. Caches keyed by attacker-chosen values (the
per-sender key cache, the header-prefix cache) are bounded, and so is replay state: at most `capacity`
entries per epoch (a full epoch is closed, nothing is evicted) for the newest `live_epochs` epochs.
"""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from domvia_e2ee import Bundle, HistoryBundle, PublicIdentity, SealedMessage, Slice, open_unsigned, seal
from domvia_e2ee.encoding import Writer, loads_object
from domvia_e2ee.group.bundle import MAX_BUNDLE_BYTES
from domvia_e2ee.group.header import MAX_MEMBERS
from domvia_e2ee.group.history import MAX_ENTRIES, MAX_HISTORY_BYTES
from domvia_e2ee.group.replay import ReplayState
from domvia_e2ee.labels import MAGIC_BUNDLE, MAGIC_HISTORY, MAGIC_SLICE
from domvia_e2ee.message import MAX_MESSAGE_BYTES, MAX_MESSAGE_JSON, MAX_PLAINTEXT, header_prefix

from .scenario import ROOM, error_code, identity, room_key, scenario

KIB = 1024


@contextmanager
def allocation_limit(limit: int) -> Iterator[None]:
    """Fails if the block's peak of new Python allocations exceeds limit bytes."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= limit, f"peak allocation {peak} bytes > {limit}"


def _refused_cheaply(parse: Callable[[bytes], object], data: bytes, limit: int = 64 * KIB) -> str:
    with allocation_limit(limit):
        return error_code(parse, data)


def _header(count: int, epoch: int = 2, kem: int = 1) -> bytes:
    """A well-formed v2 epoch header (spec/bundle.md) claiming `count` members."""
    key = room_key(epoch)
    return (Writer().u8(kem).u8(1).str8(ROOM).u32(epoch).raw(key.key_id).raw(bytes([1]) * 32).str8("alice").u64(0)
            .u8(0).u32(100).u32(3600).u8(1).str8("alice").raw(bytes(32)).u32(count).raw(bytes(32)).getvalue())


def _bundle_header(count: int, kem: int = 1) -> bytes:
    return MAGIC_BUNDLE + _header(count, kem=kem) + bytes(64) + b"\x00"


def test_oversized_messages_are_refused_before_parsing() -> None:
    assert _refused_cheaply(SealedMessage.from_bytes, b"DVM\x01" + bytes(MAX_MESSAGE_BYTES)) == "E_FORMAT"
    assert _refused_cheaply(SealedMessage.from_json, b"{" + b" " * MAX_MESSAGE_JSON + b"}") == "E_FORMAT"
    assert _refused_cheaply(SealedMessage.parse, b"DVM\x01" + bytes(MAX_MESSAGE_BYTES)) == "E_FORMAT"


def test_oversized_plaintext_is_refused_without_spending_the_nonce_budget() -> None:
    key, alice = room_key(2), identity("alice")
    assert error_code(seal, key, bytes(MAX_PLAINTEXT + 1), message_id="m-1", sender=alice) == "E_FORMAT"
    assert key.sealed_count("alice") == 0
    assert seal(key, bytes(MAX_PLAINTEXT), message_id="m-2", sender=alice).epoch == 2


def test_member_count_is_not_trusted_for_allocation() -> None:
    """A 150-byte bundle claiming the maximum member count fails on the first missing member."""
    assert _refused_cheaply(Bundle.from_bytes, _bundle_header(MAX_MEMBERS)) == "E_FORMAT"
    assert _refused_cheaply(Bundle.from_bytes, _bundle_header(MAX_MEMBERS + 1)) == "E_FORMAT"
    assert _refused_cheaply(Bundle.from_bytes, _bundle_header(0xFFFFFFFF)) == "E_FORMAT"
    s = scenario()
    assert _refused_cheaply(s.rings["bob"].accept, _bundle_header(MAX_MEMBERS), limit=128 * KIB) == "E_FORMAT"


def test_bundle_and_history_size_limits_come_first() -> None:
    """Zero-filled inputs one byte over the limit (calloc'd, so they cost no real memory)."""
    assert error_code(Bundle.from_bytes, bytes(MAX_BUNDLE_BYTES + 1)) == "E_FORMAT"
    assert error_code(HistoryBundle.from_bytes, bytes(MAX_HISTORY_BYTES + 1)) == "E_FORMAT"
    assert _refused_cheaply(Slice.from_bytes, MAGIC_SLICE + bytes(64 * KIB)) == "E_FORMAT"


def test_history_counts_are_bounded() -> None:
    body = Writer(MAGIC_HISTORY).str8(ROOM).str8("alice").str8("bob").u32(5).u64(0).u8(1)
    assert _refused_cheaply(HistoryBundle.from_bytes, body.getvalue() + struct.pack(">I", MAX_ENTRIES + 1)) == "E_FORMAT"
    assert _refused_cheaply(HistoryBundle.from_bytes, body.getvalue() + struct.pack(">I", MAX_ENTRIES)) == "E_FORMAT"
    # An entry whose roster claims 2^32 - 1 members: its header says 3, and nothing is read ahead.
    entry = Writer().bytes16(_header(3, epoch=4)).bytes16(bytes(80)).u32(0xFFFFFFFF).getvalue()
    one_entry = body.getvalue() + struct.pack(">I", 1) + entry
    assert _refused_cheaply(HistoryBundle.from_bytes, one_entry) == "E_FORMAT"
    claims_max = Writer().bytes16(_header(MAX_MEMBERS, epoch=4)).bytes16(bytes(80)).u32(MAX_MEMBERS).getvalue()
    assert _refused_cheaply(HistoryBundle.from_bytes, body.getvalue() + struct.pack(">I", 1) + claims_max) == "E_FORMAT"


def test_merkle_path_length_is_bounded() -> None:
    s = scenario()
    piece = s.room.rotate().bundle.slice_for("bob").to_bytes()
    # The path is last: its one-byte length, then 32 bytes per node. Claim 255 nodes.
    path_len = piece[-1 - 32 * 2] if len(piece) > 65 else 0
    assert path_len <= 32
    claimed = piece[: len(piece) - 1 - 32 * path_len] + b"\xff" + bytes(32 * 255)
    assert _refused_cheaply(Slice.from_bytes, claimed) == "E_FORMAT"


@pytest.mark.parametrize("document", [
    b"[" * 90_000, b'{"a":' * 30_000 + b"1" + b"}" * 30_000, b'{"e":' + b"9" * 5_000 + b"}",
])
def test_hostile_json_is_a_format_error(document: bytes) -> None:
    assert error_code(SealedMessage.from_json, document) == "E_FORMAT"
    assert error_code(loads_object, document, "state") == "E_FORMAT"


def test_identity_documents_are_small() -> None:
    public = identity("alice").public.to_json().encode()
    padded = public[:-1] + b"," + b'"x":"' + b"A" * 9000 + b'"}'
    assert _refused_cheaply(PublicIdentity.from_json, padded) == "E_FORMAT"


def test_forged_sender_ids_do_not_grow_memory_without_bound() -> None:
    """The relay sends garbage under the real key id with a new sender id each time: opening derives
    a per-sender key before authenticating, so that cache must stay bounded."""
    key = room_key(2)
    forged = [header_prefix(key.suite, 0, ROOM, 2, key.key_id, f"s{i}", "text/plain") + b"\x01m" + bytes(28)
              for i in range(7000)]
    for data in forged[:1500]:
        error_code(open_unsigned, key, data)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        for data in forged[1500:]:
            assert error_code(open_unsigned, key, data) == "E_AUTH"
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # Unbounded, 5,500 more cached keys add about 2.5 MB; bounded, the caches recycle (under 1 MB
    # even when both the sender-key cache and the header-prefix cache are full at the end).
    assert grown < 1536 * KIB, grown


def test_replay_state_is_bounded() -> None:
    """A full epoch is closed, not evicted (so no old message opens again as new), and a room keeps
    the state of its newest live_epochs epochs only."""
    replay = ReplayState(capacity=100, live_epochs=4)
    for i in range(100):
        replay.check_open(ROOM, 1, 1, "alice", f"m-{i}")
        replay.record_open(ROOM, 1, 1, "alice", f"m-{i}")
    for i in (0, 99, 100, 10_000):
        assert error_code(replay.check_open, ROOM, 1, 1, "alice", f"m-{i}") == "E_STALE"
    assert len(replay._rooms[ROOM][1].seen) == 100
    for epoch in range(2, 1000):
        replay.record_open(ROOM, epoch, epoch, "alice", "m-0")
    assert sorted(replay._rooms[ROOM]) == [996, 997, 998, 999]
    assert error_code(replay.check_open, ROOM, 995, 999, "alice", "m-1") == "E_STALE"
    # another room's traffic touches nothing of this room's
    for i in range(99):
        replay.record_open("room-2", 1, 1, "bob", f"m-{i}")
    assert sorted(replay._rooms[ROOM]) == [996, 997, 998, 999]
