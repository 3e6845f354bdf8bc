"""Attack: invisible salamanders in group chats, a ciphertext valid under two keys.

Sources: Dodis, Grubbs, Ristenpart and Woodage, "Fast Message Franking: From Invisible Salamanders to
Encryptment" (CRYPTO 2018), on Facebook Messenger's attachments; Len, Grubbs and Ristenpart,
"Partitioning Oracle Attacks" (USENIX Security 2021), the GF(2^128) construction used here;
Albertini, Duong, Gueron, Kölbl, Luykx and Schmieg, "How to Abuse and Fix Authenticated Encryption
Without Key Commitment" (USENIX Security 2022). AES-GCM and (X)ChaCha20-Poly1305 are not key-committing.
In a group chat, a sender who got members to hold two different keys for one epoch (see
test_partitioning.py) sends one ciphertext that each group reads differently.

Why it fails here: the header (the AEAD's associated data) carries the key id, an HKDF commitment to
the room key, and open() refuses before any decryption a key whose id is not the header's
(sealing._check_key, KeyRing.open). One wire message names one key id, so it opens under at most one
key, whatever the AEAD does. This test builds a real AES-GCM salamander that raw AES-GCM accepts under
both per-sender keys, then shows domvia opens it under one only.
"""

from __future__ import annotations

import pytest

from domvia_e2ee import RoomKey, SealedMessage, Suite, open_unsigned, seal_unsigned
from core_helpers import forge_bundle, next_after
from domvia_e2ee.hazmat import suites
from domvia_e2ee.hazmat.suites import AeadKey
from domvia_e2ee.labels import AAD_MESSAGE
from domvia_e2ee.message import header_prefix

from gcm_salamander import salamander

from .scenario import ROOM, error_code, room_key, scenario

SENDER = "alice"  # the rotator who equivocated
def _sender_key(key: RoomKey) -> bytes:
    return key.sender_cipher(SENDER)._key


def _wire(named: RoomKey, other: RoomKey) -> tuple[bytes, bytes, bytes]:
    """An unsigned, unpadded message whose header names `named`'s key id, salamandered across both keys."""
    header = header_prefix(named.suite, 0, ROOM, named.epoch, named.key_id, SENDER, "text/plain")
    header += bytes((3,)) + b"m-1"
    nonce = bytes(range(12))
    body = salamander(_sender_key(named), _sender_key(other), nonce, AAD_MESSAGE + header)
    return header + nonce + body, nonce, header


def _two_keys() -> tuple[RoomKey, RoomKey]:
    """What an equivocating rotator hands two halves of the room: two keys for epoch 2."""
    return room_key(2, label="group x"), room_key(2, label="group y")


def test_the_salamander_is_real_for_raw_aes_gcm() -> None:
    x, y = _two_keys()
    wire, nonce, header = _wire(x, y)
    body = wire[len(header) + len(nonce):]
    read_x = AeadKey(Suite.AES_256_GCM, _sender_key(x)).decrypt(nonce, body, AAD_MESSAGE + header)
    read_y = AeadKey(Suite.AES_256_GCM, _sender_key(y)).decrypt(nonce, body, AAD_MESSAGE + header)
    assert read_x != read_y


def test_domvia_opens_the_salamander_under_one_key_only() -> None:
    x, y = _two_keys()
    for named, other in ((x, y), (y, x)):
        wire, _, _ = _wire(named, other)
        assert SealedMessage.from_bytes(wire).key_id == named.key_id
        assert open_unsigned(named, wire).sender_id == SENDER
        assert error_code(open_unsigned, other, wire) == "E_UNKNOWN_KEY"


def test_key_rings_given_the_two_keys_never_read_it_differently() -> None:
    """alice signs epoch 2 twice (key x to bob, key y to carol), then sends one salamander to both.
    Unsigned mode is on so that only key commitment stands in the way: carol holds epoch 2 under
    another key id, and an unsigned message naming it is an authentication failure, never read."""
    s = scenario(allow_unsigned=True)
    x, y = _two_keys()
    members = [s.people[n].public for n in ("alice", "bob", "carol")]
    for key, name in ((x, "bob"), (y, "carol")):
        s.deliver(forge_bundle(s.people["alice"], key, members, kem=s.room.kem,
                               **next_after(s.rings["alice"], ROOM)), name)
    wire, _, _ = _wire(x, y)
    assert s.rings["bob"].open(wire).sender_id == SENDER
    assert error_code(s.rings["carol"].open, wire) == "E_AUTH"
    assert s.rings["carol"].forks(ROOM) == []  # unsigned: no member vouches for it, so no evidence


@pytest.mark.parametrize("suite", list(Suite))
def test_key_id_is_checked_before_any_decryption(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    """The defence does not depend on the AEAD: the wrong key is refused before the cipher runs."""
    x, y = room_key(2, label="x", suite=suite), room_key(2, label="y", suite=suite)
    wire = seal_unsigned(x, b"for group x", message_id="m-2", sender_id=SENDER).to_bytes()

    def no_decryption(*_: object) -> bytes:
        raise AssertionError("decryption attempted under a key the header does not name")

    monkeypatch.setattr(suites.AeadKey, "decrypt", no_decryption)
    assert error_code(open_unsigned, y, wire) == "E_UNKNOWN_KEY"
