"""python -m benchmarks.breakdown: where the time of a message and of a wrap goes.

Times each step of seal/open and of one HPKE wrap on its own (process CPU time, median of
repeated runs), next to the raw primitive calls they contain, so a missed target can be read
as "the primitives cost X, the Python around them Y". A sampling profiler (pyinstrument,
py-spy) agrees on the shares but cannot resolve steps of a tenth of a microsecond.
"""

from __future__ import annotations

import os
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from nacl import bindings as sodium

from benchmarks._shared import make_identity
from domvia_e2ee import RoomKey, WrapKem, open_unsigned, seal_unsigned
from domvia_e2ee import message as wire
from domvia_e2ee import padding, sealing
from domvia_e2ee.encoding import check_id
from domvia_e2ee.hazmat import curves, hpke, kdf
from domvia_e2ee.wrap import wrap

ROUNDS = 15


def cost(operation: Callable[[], Any], number: int) -> float:
    """Median process-CPU seconds per call."""
    timer = timeit.Timer(operation, timer=time.process_time)
    return statistics.median(timer.repeat(repeat=ROUNDS, number=number)) / number


def show(title: str, rows: list[tuple[str, Callable[[], Any], int]]) -> None:
    print(f"\n{title}")
    for label, operation, number in rows:
        print(f"  {label:58s} {cost(operation, number) * 1e6:8.3f} µs")


def message_rows() -> list[tuple[str, Callable[[], Any], int]]:
    key = RoomKey(os.urandom(32), room_id="room-0123456789", epoch=7)
    plaintext = os.urandom(200)
    sealed = seal_unsigned(key, plaintext, message_id="msg-0000000001", sender_id="alice")
    data, text = sealed.wire, sealed.to_json()
    cipher = key.sender_cipher("alice")
    aad = b"domvia-e2ee/v1 message-aad" + sealed.header
    padded = padding.pad(plaintext)
    n = 20_000
    return [
        ("seal_unsigned (whole)", lambda: seal_unsigned(key, plaintext, message_id="msg-0000000001",
                                                        sender_id="alice"), n),
        ("  AeadKey.encrypt_random: os.urandom(12) + AESGCM.encrypt", lambda: cipher.encrypt_random(padded, aad), n),
        ("  check_id(message_id)", lambda: check_id("msg-0000000001", "message_id"), n),
        ("  per-sender nonce budget (lock + counter)", lambda: key.reserve_seal("alice"), n),
        ("  Padme padding", lambda: padding.pad(plaintext), n),
        ("open_unsigned (whole, from bytes)", lambda: open_unsigned(key, data), n),
        ("  parse_binary", lambda: wire.parse_binary(data), n),
        ("  key check (epoch, room, suite, constant-time key id)", lambda: sealing._check_key(key, sealed), n),
        ("  AeadKey.decrypt: AESGCM.decrypt in a try", lambda: cipher.decrypt(sealed.nonce, sealed.ciphertext, aad), n),
        ("  unpad", lambda: padding.unpad(padded), n),
        ("to_json", sealed.to_json, n // 2),
        ("parse_json", lambda: wire.parse_json(text), n // 4),
    ]


def signed_rows() -> list[tuple[str, Callable[[], Any], int]]:
    sender = make_identity(0)
    key = RoomKey(os.urandom(32), room_id="room-0123456789", epoch=7)
    sealed = sealing.seal(key, os.urandom(200), message_id="msg-0000000001", sender=sender)
    signed = b"domvia-e2ee/v1 message-sig" + sealed.signed_part
    assert sealed.signature is not None
    signature = sealed.signature
    return [
        ("seal (signed, whole)", lambda: sealing.seal(key, os.urandom(200), message_id="msg-0000000001",
                                                      sender=sender), 2_000),
        ("  Ed25519 sign (libsodium)", lambda: sender.sign(signed), 2_000),
        ("open (signed, whole)", lambda: sealing.open(key, sealed.wire, sender=sender.public), 2_000),
        ("  Ed25519 verify (libsodium)", lambda: curves.verify(sender.public.ed25519, signature, signed), 2_000),
    ]


def wrap_rows() -> list[tuple[str, Callable[[], Any], int]]:
    recipient = make_identity(1).public
    key = RoomKey(os.urandom(32), room_id="room-0123456789", epoch=7)
    ephemeral, shared = os.urandom(32), os.urandom(32)
    info = os.urandom(90)
    return [
        ("wrap (one member, classic HPKE)", lambda: wrap(key, recipient, WrapKem.X25519), 1_000),
        ("  X25519 ephemeral key (libsodium, GIL released)", lambda: sodium.crypto_scalarmult_base(ephemeral), 1_000),
        ("  X25519 exchange (libsodium, GIL released)", lambda: sodium.crypto_scalarmult(ephemeral, recipient.x25519),
         1_000),
        ("  one HMAC-SHA256 (six per wrap, GIL held)", lambda: kdf.hmac_sha256(shared, info), 20_000),
        ("  HPKE key schedule + AES-GCM after the exchange (GIL held)", lambda: _schedule(shared, info), 10_000),
    ]


def _schedule(shared: bytes, info: bytes) -> bytes:
    """seal_base after encap: the part of a wrap that holds the GIL besides the PyNaCl wrappers."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    secret = kdf.extract(shared, hpke._SECRET)
    context = hpke._CONTEXT_PREFIX + kdf.extract(b"", hpke._INFO_HASH + info)
    return AESGCM(kdf.expand(secret, hpke._KEY + context, 32)).encrypt(
        kdf.expand(secret, hpke._BASE_NONCE + context, 12), shared, b"")


def main() -> None:
    print(f"process CPU time per call, median of {ROUNDS} runs; 1-minute load average {os.getloadavg()[0]:.1f}")
    show("Unsigned message, 200 B, AES-256-GCM", message_rows())
    show("Signed message, 200 B", signed_rows())
    show("Wrapping (rotation cost per member, before the 2 threads)", wrap_rows())


if __name__ == "__main__":
    main()
