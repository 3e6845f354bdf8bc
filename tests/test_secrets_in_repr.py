"""Secrets never appear in repr, str, format or error messages: not in hex, base64 or raw."""

from __future__ import annotations

import base64

import pytest
from core_helpers import ROOM, key_of, seed, world
from hypothesis import given
from hypothesis import strategies as st

from domvia_e2ee import (
    DomviaError, Identity, MemberProofFile, Room, RoomKey, Suite, keyring_from_plaintext, keyring_to_plaintext,
    open,  # noqa: A004
)
from domvia_e2ee.hazmat.curves import SigningKey
from domvia_e2ee.hazmat.suites import AeadKey


def _forms(secret: bytes) -> list[str]:
    """Every way a secret could be printed; in hex every 8-byte window, so a partial leak counts."""
    forms = [secret.decode("latin-1"), repr(secret)[2:-1]]
    for chunk in [secret[i:i + 8] for i in range(0, len(secret) - 7)]:
        forms += [chunk.hex(), chunk.hex().upper()]
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(secret).decode()
        forms += [text, text.rstrip("="), text[:12]]
    return forms


def assert_hidden(text: str, *secrets: bytes) -> None:
    for secret in secrets:
        for form in _forms(secret):
            assert form not in text, f"secret leaked as {form!r} in {text!r}"


def _renderings(obj: object) -> str:
    return "\n".join([repr(obj), str(obj), f"{obj}", f"{obj!r}", "%s %r" % (obj, obj), format(obj, "")])  # noqa: UP031


@given(secret=st.binary(min_size=32, max_size=32), room_id=st.sampled_from(["r", "room-1", "x" * 128]),
       epoch=st.integers(1, 2**32 - 1), suite=st.sampled_from(list(Suite)))
def test_room_key(secret: bytes, room_id: str, epoch: int, suite: Suite) -> None:
    key = RoomKey(secret, room_id=room_id, epoch=epoch, suite=suite)
    assert_hidden(_renderings(key), secret)
    assert "redacted" in repr(key) and key.key_id.hex()[:16] in repr(key)
    assert_hidden(_renderings(key.sender_cipher("alice")), secret)


def test_room_key_sender_keys_are_hidden_too() -> None:
    key = RoomKey(seed("s"), room_id=ROOM, epoch=1)
    cipher = key.sender_cipher("alice")
    assert_hidden(_renderings(cipher), cipher._key)
    assert_hidden(_renderings(key), cipher._key, key._prk)


@given(st.binary(min_size=32, max_size=32))
def test_aead_key(secret: bytes) -> None:
    for suite in Suite:
        assert_hidden(_renderings(AeadKey(suite, secret)), secret)


@given(st.binary(min_size=32, max_size=32))
def test_signing_key(seed_bytes: bytes) -> None:
    signer = SigningKey(seed_bytes)
    assert_hidden(_renderings(signer), seed_bytes, signer._expanded[:32])


@pytest.mark.parametrize("post_quantum", [False, True])
def test_identity(post_quantum: bool) -> None:
    identity = Identity("alice", x25519_private=seed("x"), ed25519_seed=seed("e"),
                        xwing_seed=seed("w") if post_quantum else None)
    text = _renderings(identity) + _renderings(identity.public)
    assert_hidden(text, seed("x"), seed("e"), seed("w"))
    assert "alice" in repr(identity)


def test_key_ring_room_and_records() -> None:
    identities, rings = world(("alice", "bob"))
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public])
    rings["bob"].accept(rotation.bundle)
    second = room.rotate()
    secrets = [bytes(key_of(rings["alice"], ROOM, e)) for e in (1, 2)]  # type: ignore[arg-type]
    text = "\n".join(_renderings(x) for x in (rings["alice"], rings["bob"], room, rings["alice"].record(ROOM, 1),
                                               rings["alice"].record(ROOM, 2), rotation, rotation.bundle,
                                               rotation.bundle.slice_for("bob"), second, second.announcement(),
                                               MemberProofFile(ROOM, 2, second.bundle.proof_for("bob")),
                                               rings["alice"].header(ROOM)))
    assert_hidden(text, *secrets, seed("alice", "x25519"), seed("alice", "ed25519"), seed("bob", "x25519"))
    assert repr(rings["alice"]) == "KeyRing(owner='alice', rooms=['room-1'])"


def test_opened_messages_hide_their_plaintext() -> None:
    identities, rings = world(("alice", "bob"))
    Room.create(rings["alice"], ROOM, [identities["bob"].public])
    plaintext = b"the launch code is 0000-1111-2222"
    sealed = rings["alice"].seal(ROOM, plaintext, message_id="m-1")
    opened = rings["alice"].open(sealed)
    for obj in (sealed, opened):
        assert_hidden(_renderings(obj), plaintext[:32])
        assert "launch" not in repr(obj)


def test_errors_carry_no_secret() -> None:
    """Failures on the paths that touch secrets: the messages name fields and ids only."""
    identities, rings = world(("alice", "bob", "carol"))
    room, rotation = Room.create(rings["alice"], ROOM, [identities["bob"].public])
    key = key_of(rings["alice"], ROOM, 1)
    sealed = rings["alice"].seal(ROOM, b"secret text", message_id="m-1")
    messages: list[str] = []
    attempts = [
        lambda: rings["carol"].accept(rotation.bundle),
        lambda: open(RoomKey(seed("other"), room_id=ROOM, epoch=1), sealed, sender=identities["alice"].public),
        lambda: open(key, sealed.to_bytes()[:-1] + bytes((sealed.to_bytes()[-1] ^ 1,)), sender=identities["alice"].public),
        lambda: rings["bob"].open(sealed),
        lambda: keyring_from_plaintext(dict(keyring_to_plaintext(rings["alice"]), v=1), identities["alice"]),
        lambda: keyring_from_plaintext(keyring_to_plaintext(rings["alice"]), identities["bob"]),
        lambda: room.remove(["alice"]),
    ]
    for attempt in attempts:
        with pytest.raises(DomviaError) as info:
            attempt()
        messages.append(f"{info.value!r} {info.value} {info.value.args}")
    assert_hidden("\n".join(messages), bytes(key), seed("alice", "x25519"), seed("alice", "ed25519"))  # type: ignore[arg-type]
    assert_hidden("\n".join(messages), b"secret text" + bytes(21))


def test_the_leak_check_itself_can_fail() -> None:
    """assert_hidden does catch a leak: a check that cannot fail would prove nothing."""
    key = RoomKey(seed("s"), room_id=ROOM, epoch=1)
    for leak in (bytes(key).hex(), base64.b64encode(bytes(key)).decode(), bytes(key)[3:11].hex()):
        with pytest.raises(AssertionError):
            assert_hidden(f"RoomKey({leak})", bytes(key))
    with pytest.raises(AssertionError):
        assert_hidden(repr(bytes(key)), bytes(key))
