"""RoomKey: construction, constant-time equality, per-sender keys and the nonce budget."""

from __future__ import annotations

import hmac
import threading

import pytest
from core_helpers import fixed_identity, fixed_key, seed

from domvia_e2ee import (
    KeyExhaustedError, KeyRing, PolicyError, Room, RoomKey, Suite, keyring_from_plaintext, keyring_to_plaintext, keys,
    open,  # noqa: A004
    seal,
)
from domvia_e2ee.errors import FormatError
from domvia_e2ee.keys import MAX_MESSAGES_PER_SENDER

ALICE, BOB = fixed_identity("alice"), fixed_identity("bob")


def test_bytes_returns_the_secret_and_generate_is_random() -> None:
    key = RoomKey(seed("s"), room_id="r", epoch=1)
    assert bytes(key) == seed("s")
    generated = {bytes(RoomKey.generate(room_id="r", epoch=1)) for _ in range(8)}
    assert len(generated) == 8 and all(len(secret) == 32 for secret in generated)


@pytest.mark.parametrize("secret", [b"", bytes(31), bytes(33), bytearray(32), "x" * 32])
def test_a_secret_is_exactly_32_bytes(secret: object) -> None:
    with pytest.raises(ValueError):
        RoomKey(secret, room_id="r", epoch=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("epoch", [0, -1, 2**32, True, 1.0, "1"])
def test_epoch_range(epoch: object) -> None:
    with pytest.raises(FormatError) as info:
        RoomKey(seed("s"), room_id="r", epoch=epoch)  # type: ignore[arg-type]
    assert info.value.field == "epoch"


def test_epoch_bounds_accepted() -> None:
    assert RoomKey(seed("s"), room_id="r", epoch=2**32 - 1).epoch == 2**32 - 1


def test_equality_is_by_secret_and_context() -> None:
    key = fixed_key()
    assert key == fixed_key()
    assert hash(key) == hash(fixed_key())
    assert key != fixed_key(secret=seed("other"))
    assert key != fixed_key(room_id="room-2", secret=bytes(key))
    assert key != fixed_key(epoch=2, secret=bytes(key))
    assert key != fixed_key(suite=Suite.XCHACHA20_POLY1305, secret=bytes(key))
    assert key != bytes(key)
    assert (key == bytes(key)) is False


def test_equality_compares_secrets_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    class SpyHmac:
        @staticmethod
        def compare_digest(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return hmac.compare_digest(a, b)

    monkeypatch.setattr(keys, "hmac", SpyHmac)
    one, two = fixed_key(), fixed_key(secret=seed("two"))
    assert one == fixed_key()
    assert one != two
    assert (bytes(one), bytes(one)) in calls
    assert (bytes(one), bytes(two)) in calls
    calls.clear()
    assert one.matches(one.key_id)
    assert calls == [(one.key_id, one.key_id)]


def test_matches_only_its_own_key_id() -> None:
    key = fixed_key()
    assert key.matches(key.key_id)
    assert not key.matches(fixed_key(epoch=2).key_id)
    assert not key.matches(key.key_id[:-1])
    assert not key.matches(b"")


def test_each_sender_has_its_own_cached_cipher() -> None:
    key = fixed_key()
    assert key.sender_cipher("alice") is key.sender_cipher("alice")
    nonce = bytes(12)
    alice = key.sender_cipher("alice").encrypt(nonce, b"same", b"")
    bob = key.sender_cipher("bob").encrypt(nonce, b"same", b"")
    assert alice != bob


# -- the nonce budget ------------------------------------------------------------------------


def test_reserve_seal_counts_and_refuses_at_the_bound() -> None:
    key = fixed_key()
    key.reserve_seal("alice")
    assert key.sealed_count("alice") == 1
    key._restore_sealed_count("alice", MAX_MESSAGES_PER_SENDER - 1)
    key.reserve_seal("alice")
    assert key.sealed_count("alice") == MAX_MESSAGES_PER_SENDER
    with pytest.raises(KeyExhaustedError) as info:
        key.reserve_seal("alice")
    assert isinstance(info.value, PolicyError) and info.value.code == "E_KEY_EXHAUSTED"
    assert key.sealed_count("alice") == MAX_MESSAGES_PER_SENDER
    key.reserve_seal("bob")  # the budget is per sender
    assert key.sealed_count("bob") == 1


def test_the_bound_is_two_to_the_32() -> None:
    assert MAX_MESSAGES_PER_SENDER == 2**32


def test_seal_refuses_at_the_bound_and_keeps_counting_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    key = fixed_key()
    monkeypatch.setitem(key._sealed, "alice", MAX_MESSAGES_PER_SENDER - 1)
    last = seal(key, b"last", message_id="m-last", sender=ALICE)
    assert open(key, last, sender=ALICE.public).plaintext == b"last"
    with pytest.raises(KeyExhaustedError):
        seal(key, b"one too many", message_id="m-over", sender=ALICE)
    assert key.sealed_count("alice") == MAX_MESSAGES_PER_SENDER
    seal(key, b"bob still can", message_id="m-bob", sender=BOB)


def test_reserve_seal_is_exact_under_threads() -> None:
    key = fixed_key()

    def work() -> None:
        for _ in range(2000):
            key.reserve_seal("alice")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert key.sealed_count("alice") == 8000


def test_key_ring_budget_survives_a_restart_and_rotation_restores_it() -> None:
    ring = KeyRing(ALICE)
    room, _ = Room.create(ring, "room-1", [BOB.public])
    ring.record("room-1", 1).key._restore_sealed_count("alice", MAX_MESSAGES_PER_SENDER)  # type: ignore[union-attr]
    with pytest.raises(KeyExhaustedError):
        ring.seal("room-1", b"x", message_id="m-1")
    reloaded = keyring_from_plaintext(keyring_to_plaintext(ring), ALICE)
    with pytest.raises(KeyExhaustedError):
        reloaded.seal("room-1", b"x", message_id="m-1")
    room.rotate()
    assert ring.seal("room-1", b"x", message_id="m-1").epoch == 2
