"""Key commitment: an AES-GCM "invisible salamander" (Dodis et al. 2018; Len, Grubbs and
Ristenpart 2021) opens under two keys with raw AES-GCM, and domvia opens it under one only.

GCM is not key-committing: given two keys, one ciphertext block can be solved for in GF(2^128)
so that both keys compute the same tag. A malicious rotator could hand two members two keys
and send one ciphertext that reads differently to each. domvia's header carries the key id,
an HKDF commitment to the key, and open() refuses any key whose id is not the header's.
"""

from __future__ import annotations

import struct

import pytest
from core_helpers import assert_opaque_auth, fixed_identity, seed
from gcm_salamander import _block, gcm_tag, gf_inv, gf_mul, salamander
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from domvia_e2ee import AuthenticationError, RoomKey, SealedMessage, Suite, UnknownKeyError, open, open_unsigned  # noqa: A004
from domvia_e2ee.message import FLAG_SIGNED, header_prefix
from domvia_e2ee.sealing import _seal_from_parts

ROOM, EPOCH, SENDER = "room-1", 7, "mallory"
MALLORY = fixed_identity(SENDER)
# -- the key schedule, derived independently with cryptography's HKDF -------------------------


def sender_key(key: RoomKey, sender_id: str) -> bytes:
    mac = HMAC(b"domvia-e2ee/v1 room-key", hashes.SHA256())
    mac.update(bytes(key))
    prk = mac.finalize()
    context = bytes((key.suite,)) + bytes((len(key.room_id),)) + key.room_id.encode() + struct.pack(">I", key.epoch)
    info = b"domvia-e2ee/v1 sender-key" + context + bytes((len(sender_id),)) + sender_id.encode()
    return HKDFExpand(hashes.SHA256(), 32, info).derive(prk)


def test_gf_arithmetic_matches_aes_gcm() -> None:
    """The field code reproduces real GCM tags, and x * x^-1 is one."""
    key, nonce, aad = seed("k"), seed("n")[:12], b"associated data of 35 bytes, odd.."
    ciphertext_and_tag = AESGCM(key).encrypt(nonce, b"some plaintext that spans two blocks", aad)
    assert gcm_tag(key, nonce, aad, ciphertext_and_tag[:-16]) == ciphertext_and_tag[-16:]
    x = _block(seed("x")[:16])
    assert gf_mul(x, gf_inv(x)) == 1 << 127


def test_sender_keys_are_derived_as_specified() -> None:
    key = RoomKey(seed("a"), room_id=ROOM, epoch=EPOCH)
    sealed = _seal_from_parts(key, b"hello", message_id="m-1", sender_id=SENDER, content_type="text/plain",
                              pad=False, nonce=seed("n")[:12], signer=None)
    raw = AESGCM(sender_key(key, SENDER)).decrypt(sealed.nonce, sealed.ciphertext,
                                                  b"domvia-e2ee/v1 message-aad" + sealed.header)
    assert raw == b"hello"


def _two_keys() -> tuple[RoomKey, RoomKey]:
    """Two keys for the same room and epoch: what a malicious rotator would hand two members."""
    return (RoomKey(seed("key a"), room_id=ROOM, epoch=EPOCH), RoomKey(seed("key b"), room_id=ROOM, epoch=EPOCH))


def _header(key_id: bytes, flags: int) -> bytes:
    return header_prefix(Suite.AES_256_GCM, flags, ROOM, EPOCH, key_id, SENDER, "text/plain") + b"\x05msg-1"


@pytest.mark.parametrize("signed", [False, True])
def test_salamander_opens_under_the_committed_key_only(signed: bool) -> None:
    key_a, key_b = _two_keys()
    raw_a, raw_b = sender_key(key_a, SENDER), sender_key(key_b, SENDER)
    nonce = seed("salamander nonce")[:12]
    header = _header(key_a.key_id, FLAG_SIGNED if signed else 0)
    aad = b"domvia-e2ee/v1 message-aad" + header
    body = salamander(raw_a, raw_b, nonce, aad)

    # Raw AES-GCM accepts it under both keys, with two different plaintexts.
    plain_a, plain_b = AESGCM(raw_a).decrypt(nonce, body, aad), AESGCM(raw_b).decrypt(nonce, body, aad)
    assert plain_a != plain_b

    wire = header + nonce + body
    if signed:
        wire += MALLORY.sign(b"domvia-e2ee/v1 message-sig" + wire)
    sealed = SealedMessage.from_bytes(wire)

    def domvia_open(key: RoomKey) -> bytes:
        if signed:
            return open(key, sealed, sender=MALLORY.public).plaintext
        return open_unsigned(key, sealed).plaintext

    assert domvia_open(key_a) == plain_a  # the key the header commits to
    for other in (key_b, RoomKey(seed("key c"), room_id=ROOM, epoch=EPOCH)):
        with pytest.raises(UnknownKeyError):
            domvia_open(other)


def test_salamander_committed_to_the_other_key_fails_authentication() -> None:
    """The sender's other choice: name key B in the header. The key id is associated data,
    so the ciphertext solved for header A no longer authenticates under either key."""
    key_a, key_b = _two_keys()
    nonce = seed("salamander nonce")[:12]
    body = salamander(sender_key(key_a, SENDER), sender_key(key_b, SENDER), nonce,
                      b"domvia-e2ee/v1 message-aad" + _header(key_a.key_id, 0))
    relabelled = _header(key_b.key_id, 0) + nonce + body
    with pytest.raises(AuthenticationError) as info:
        open_unsigned(key_b, relabelled)
    assert_opaque_auth(info.value)
    with pytest.raises(UnknownKeyError):
        open_unsigned(key_a, relabelled)


def test_key_ids_commit_to_secret_suite_room_and_epoch() -> None:
    base = RoomKey(seed("s"), room_id=ROOM, epoch=EPOCH)
    variants = [RoomKey(seed("t"), room_id=ROOM, epoch=EPOCH),
                RoomKey(seed("s"), room_id="room-2", epoch=EPOCH),
                RoomKey(seed("s"), room_id=ROOM, epoch=EPOCH + 1),
                RoomKey(seed("s"), room_id=ROOM, epoch=EPOCH, suite=Suite.XCHACHA20_POLY1305)]
    assert len({base.key_id, *(v.key_id for v in variants)}) == 5
    for key in (base, *variants):
        assert key.key_id == _key_id(key)


def _key_id(key: RoomKey) -> bytes:
    mac = HMAC(b"domvia-e2ee/v1 room-key", hashes.SHA256())
    mac.update(bytes(key))
    context = bytes((key.suite, len(key.room_id))) + key.room_id.encode() + struct.pack(">I", key.epoch)
    return HKDFExpand(hashes.SHA256(), 32, b"domvia-e2ee/v1 key-id" + context).derive(mac.finalize())
