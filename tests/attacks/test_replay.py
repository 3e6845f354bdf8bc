"""Attack: replay of a sealed message, as is or moved to another room, epoch or message id.

Sources: the relay stores and forwards every payload, so it can re-deliver one at will. Rösler,
Mainka and Schwenk, "More is Less: On the End-to-End Security of Group Chats in Signal, WhatsApp, and
Threema" (EuroS&P 2018) include replaying and reordering group messages in the powers of a
malicious server; Albrecht et al. (Matrix, IEEE S&P 2023, disclosed 2022) give the server the same.

Why it fails here: the room id, epoch, key id, sender id and message id are in the header, which is
the AEAD's associated data (and, in signed mode, under the sender's signature), and the per-sender
AEAD key is derived from the room key with the room and epoch as context. A message moved to any
other (room, epoch, message id) therefore fails to authenticate, even if two rooms were given the
same secret by mistake. An authentic message opened twice is E_REPLAY: replay state is kept per
(room, epoch), up to 100,000 entries per epoch by default, after which the epoch is closed (E_STALE)
rather than anything evicted (spec/keyring.md), and the key ring's saved state keeps it across
restarts. A sealer never reuses a message id within an epoch (E_POLICY), so no genuine message is
dropped as a replay.
"""

from __future__ import annotations

import json

from domvia_e2ee import (
    RoomKey, SealedMessage, keyring_from_plaintext, keyring_to_plaintext, open_unsigned, seal_unsigned,
)
from domvia_e2ee.message import header_prefix

from .scenario import ROOM, error_code, held_key, scenario, seed


def _moved(message: SealedMessage, **changes: object) -> bytes:
    """The message's nonce and ciphertext under a header with some fields changed (unsigned form)."""
    fields: dict[str, object] = {"suite": message.suite, "flags": message.flags & ~1, "room_id": message.room_id,
                                 "epoch": message.epoch, "key_id": message.key_id, "sender_id": message.sender_id,
                                 "content_type": message.content_type}
    message_id = str(changes.pop("message_id", message.message_id)).encode()
    fields.update(changes)
    header = header_prefix(**fields) + bytes((len(message_id),)) + message_id  # type: ignore[arg-type]
    return header + message.nonce + message.ciphertext


def test_the_same_message_twice_is_a_replay() -> None:
    s = scenario()
    message = s.rings["alice"].seal(ROOM, b"transfer 10", message_id="m-1")
    assert s.rings["bob"].open(message.to_bytes()).plaintext == b"transfer 10"
    assert error_code(s.rings["bob"].open, message.to_bytes()) == "E_REPLAY"
    assert error_code(s.rings["bob"].open, message.to_json()) == "E_REPLAY"
    # Re-reading stored history is explicit, and does not count as a replay.
    assert s.rings["bob"].open(message, check_replay=False).plaintext == b"transfer 10"


def test_a_json_re_encoding_is_the_same_message() -> None:
    """Other spacing, key order or escapes give the same authenticated bytes: still a replay."""
    s = scenario()
    message = s.rings["alice"].seal(ROOM, b"transfer 10", message_id="m-1")
    s.rings["bob"].open(message)
    obj = json.loads(message.to_json())
    spaced = json.dumps(dict(reversed(list(obj.items()))), indent=2).encode()
    escaped = message.to_json().replace('"m":"m-1"', '"m":"\\u006d-1"')
    assert escaped != message.to_json()
    for form in (spaced, escaped):
        assert SealedMessage.from_json(form).to_bytes() == message.to_bytes()
        assert error_code(s.rings["bob"].open, form) == "E_REPLAY"


def test_replay_protection_survives_a_restart() -> None:
    s = scenario()
    message = s.rings["alice"].seal(ROOM, b"once", message_id="m-1")
    s.rings["bob"].open(message)
    restored = keyring_from_plaintext(json.loads(json.dumps(keyring_to_plaintext(s.rings["bob"]))), s.people["bob"])
    assert error_code(restored.open, message) == "E_REPLAY"
    # and the sealer's own ids survive too: alice cannot reuse m-1 in this epoch after a restart
    alice = keyring_from_plaintext(json.loads(json.dumps(keyring_to_plaintext(s.rings["alice"]))), s.people["alice"])
    assert error_code(alice.seal, ROOM, b"again", message_id="m-1") == "E_POLICY"


def test_a_sealer_never_reuses_a_message_id_in_an_epoch() -> None:
    s = scenario()
    s.rings["alice"].seal(ROOM, b"first", message_id="m-1")
    assert error_code(s.rings["alice"].seal, ROOM, b"second", message_id="m-1") == "E_POLICY"
    generated = {s.rings["alice"].seal(ROOM, b"x").message_id for _ in range(20)}
    assert len(generated) == 20
    # ids are per sender: bob opening alice's m-2 leaves m-2 free for bob
    s.rings["bob"].open(s.rings["alice"].seal(ROOM, b"y", message_id="m-2"))
    assert s.rings["bob"].seal(ROOM, b"z", message_id="m-2").message_id == "m-2"


def test_moved_to_another_message_id() -> None:
    s = scenario(allow_unsigned=True)
    message = s.rings["alice"].seal_unsigned(ROOM, b"approve", message_id="m-1")
    assert error_code(s.rings["bob"].open, _moved(message, message_id="m-2")) == "E_AUTH"
    signed = s.rings["alice"].seal(ROOM, b"approve", message_id="m-3")
    relabelled = signed.to_bytes().replace(b"\x03m-3", b"\x03m-4")
    assert error_code(s.rings["bob"].open, relabelled) == "E_AUTH"


def test_moved_to_another_epoch() -> None:
    s = scenario(allow_unsigned=True)
    first = s.rings["alice"].seal_unsigned(ROOM, b"epoch one", message_id="m-1")
    rotation = s.room.rotate()
    s.deliver(rotation.bundle, "bob")
    second_key = held_key(s.rings["bob"], 2)
    assert second_key is not None
    moved = _moved(first, epoch=2, key_id=second_key.key_id)
    assert error_code(s.rings["bob"].open, moved) == "E_AUTH"
    # Only the epoch changed: the key id no longer matches the held epoch's key, and no member signed
    # it (no fork evidence): an authentication failure.
    assert error_code(s.rings["bob"].open, _moved(first, epoch=2)) == "E_AUTH"
    assert s.rings["bob"].forks(ROOM) == []
    # An epoch not held at all is an unknown key.
    assert error_code(s.rings["bob"].open, _moved(first, epoch=3)) == "E_UNKNOWN_KEY"


def test_moved_to_another_room_even_with_the_same_secret() -> None:
    """A misconfigured server reuses one secret for two rooms: messages still do not move between them."""
    secret = seed("shared secret")
    room_a = RoomKey(secret, room_id=ROOM, epoch=1)
    room_b = RoomKey(secret, room_id="room-2", epoch=1)
    assert room_a.key_id != room_b.key_id
    message = seal_unsigned(room_a, b"for room a", message_id="m-1", sender_id="alice")
    assert error_code(open_unsigned, room_b, _moved(message, room_id="room-2", key_id=room_b.key_id)) == "E_AUTH"
    assert error_code(open_unsigned, room_b, message.to_bytes()) == "E_UNKNOWN_KEY"


def test_moved_to_another_sender() -> None:
    s = scenario(allow_unsigned=True)
    message = s.rings["alice"].seal_unsigned(ROOM, b"from alice", message_id="m-1")
    assert error_code(s.rings["bob"].open, _moved(message, sender_id="carol")) == "E_AUTH"


def test_distinct_messages_with_the_same_id_from_two_senders_are_not_replays() -> None:
    """The replay key is (room, epoch, sender, message id): another sender's m-1 is a new message."""
    s = scenario()
    s.rings["bob"].open(s.rings["alice"].seal(ROOM, b"a", message_id="m-1"))
    assert s.rings["bob"].open(s.rings["carol"].seal(ROOM, b"c", message_id="m-1")).sender_id == "carol"


def test_a_rejected_message_is_not_recorded() -> None:
    """A tampered copy arriving first must not make the genuine message look like a replay."""
    s = scenario()
    message = s.rings["alice"].seal(ROOM, b"genuine", message_id="m-1")
    tampered = bytearray(message.to_bytes())
    tampered[-70] ^= 1
    assert error_code(s.rings["bob"].open, bytes(tampered)) == "E_AUTH"
    assert s.rings["bob"].open(message).plaintext == b"genuine"
