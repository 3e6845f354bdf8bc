"""Contracts of the crypto core that mutation testing found untested (tests/README.md, "Mutation testing").

Each test here kills mutants that survived the rest of the suite: a changed bound, a dropped
argument, a field name or a message that callers rely on. Equivalent mutants (those no test can
tell apart from the original) are listed, with the reason, in tests/README.md instead.
"""

from __future__ import annotations

import pytest

from domvia_e2ee import FormatError, KeyExhaustedError, RoomKey, Suite, open_unsigned
from domvia_e2ee.keys import MAX_CACHED_SENDERS, MAX_MESSAGES_PER_SENDER
from domvia_e2ee.message import header_prefix

ROOM = "room-1"


def _key(suite: Suite = Suite.AES_256_GCM) -> RoomKey:
    return RoomKey(bytes(range(32)), room_id=ROOM, epoch=3, suite=suite)


# -- keys.py ---------------------------------------------------------------------------------

@pytest.mark.parametrize("suite", list(Suite))
def test_generate_keeps_the_suite(suite: Suite) -> None:
    key = RoomKey.generate(room_id=ROOM, epoch=1, suite=suite)
    assert key.suite is suite and len(bytes(key)) == 32


def test_room_key_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RoomKey(bytes(31), room_id=ROOM, epoch=1)
    with pytest.raises(FormatError) as info:
        RoomKey(bytes(32), room_id="not an id", epoch=1)
    assert info.value.field == "room_id"
    with pytest.raises(FormatError) as info:
        RoomKey(bytes(32), room_id=ROOM, epoch=0)
    assert info.value.field == "epoch"


def test_room_key_repr_shows_a_key_id_prefix_only() -> None:
    key = _key()
    assert f"key_id={key.key_id.hex()[:16]}…" in repr(key)
    assert key.key_id.hex()[:17] not in repr(key)


def test_exhausted_key_says_to_rotate() -> None:
    key = _key()
    key._restore_sealed_count("alice", MAX_MESSAGES_PER_SENDER - 1)
    key.reserve_seal("alice")
    with pytest.raises(KeyExhaustedError, match="rotate"):
        key.reserve_seal("alice")
    assert key.sealed_count("alice") == MAX_MESSAGES_PER_SENDER


def test_sender_key_cache_never_exceeds_its_bound() -> None:
    key = _key()
    for i in range(MAX_CACHED_SENDERS + 1):
        sender = f"s{i}"
        forged = header_prefix(key.suite, 0, ROOM, 3, key.key_id, sender, "text/plain") + b"\x01m" + bytes(28)
        with pytest.raises(Exception, match="authentication failed"):
            open_unsigned(key, forged)
        assert len(key._senders) <= MAX_CACHED_SENDERS
    # A cached sender key is the same key derived afresh: the cache changes nothing but speed.
    assert key.sender_cipher("s0")._key == RoomKey(bytes(key), room_id=ROOM, epoch=3).sender_cipher("s0")._key
