"""Sealing and opening chat messages (200 B and 64 KiB) beside Megolm, Tink, SecretBox and Fernet.

A round is seal + serialise + parse + open, as a message travels. The largest chat message
is 64 KiB (MAX_PLAINTEXT); anything larger is an attachment (benchmarks/bench_attachment.py),
so 1 MiB figures apply to attachments only.
"""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet

from benchmarks._shared import ed25519_fastest, make_identity, tag
from domvia_e2ee import RoomKey, Suite, open, open_unsigned, seal, seal_unsigned  # noqa: A004

pytestmark = pytest.mark.cpu_timed  # single-threaded: timed in CPU time by python -m benchmarks

AAD = os.urandom(120)
SIZES = {"200": 200, "64k": 65536}
LABELS = {"200": "200 B", "64k": "64 KiB"}
SUITES = {"aes": (Suite.AES_256_GCM, "floor.aesgcm"), "xchacha": (Suite.XCHACHA20_POLY1305, "floor.xchacha")}
SENDER = make_identity(0)


def _key(suite: Suite) -> RoomKey:
    return RoomKey(os.urandom(32), room_id="room-0123456789", epoch=7, suite=suite)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("form", ["binary", "json"])
@pytest.mark.parametrize("suite", SUITES)
def test_unsigned(benchmark, suite, form, size):
    if form == "json" and size != "200":
        pytest.skip("the JSON form is measured at 200 B")
    chosen, floor = SUITES[suite]
    key, plaintext = _key(chosen), os.urandom(SIZES[size])
    tag(benchmark, f"domvia.unsigned.{form}.{suite}.{size}", f"domvia unsigned {form} {suite} {LABELS[size]}", section=f"messages-{size}",
        floor=[f"{floor}.{size}"], nbytes=SIZES[size])
    encode = (lambda m: m.wire) if form == "binary" else (lambda m: m.to_json())

    def run():
        sealed = seal_unsigned(key, plaintext, message_id="msg-0000000001", sender_id=SENDER.participant_id)
        return open_unsigned(key, encode(sealed)).plaintext

    assert benchmark(run) == plaintext


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("form", ["binary", "json"])
@pytest.mark.parametrize("suite", SUITES)
def test_signed(benchmark, suite, form, size):
    if form == "json" and size != "200":
        pytest.skip("the JSON form is measured at 200 B")
    chosen, floor = SUITES[suite]
    key, plaintext = _key(chosen), os.urandom(SIZES[size])
    tag(benchmark, f"domvia.signed.{form}.{suite}.{size}", f"domvia signed {form} {suite} {LABELS[size]}", section=f"messages-{size}",
        floor=[ed25519_fastest(size), f"{floor}.{size}"], nbytes=SIZES[size])
    encode = (lambda m: m.wire) if form == "binary" else (lambda m: m.to_json())
    public = SENDER.public

    def run():
        sealed = seal(key, plaintext, message_id="msg-0000000001", sender=SENDER)
        return open(key, encode(sealed), sender=public).plaintext

    assert benchmark(run) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_megolm(benchmark, size):
    """Megolm (vodozemac): ratchet, AES-256-CBC + HMAC, Ed25519 signature; serialised and parsed."""
    vodozemac = pytest.importorskip("vodozemac")
    outbound = vodozemac.GroupSession()
    inbound = vodozemac.InboundGroupSession(outbound.session_key)
    plaintext = os.urandom(SIZES[size])
    parse = vodozemac.MegolmMessage.from_bytes
    tag(benchmark, f"peer.megolm.{size}", f"Megolm encrypt+decrypt {LABELS[size]} (vodozemac)", section=f"messages-{size}",
        floor=[f"floor.aesgcm.{size}"], nbytes=SIZES[size], peer="vodozemac")

    def run():
        return inbound.decrypt(parse(outbound.encrypt(plaintext).to_bytes())).plaintext

    assert benchmark(run) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_tink(benchmark, size):
    """Tink AEAD, AES256_GCM key template, with associated data of a header's size."""
    tink = pytest.importorskip("tink")
    from tink import aead

    aead.register()
    primitive = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
    plaintext = os.urandom(SIZES[size])
    tag(benchmark, f"peer.tink.{size}", f"Tink AEAD AES256_GCM enc+dec {LABELS[size]}", section=f"messages-{size}",
        floor=[f"floor.aesgcm.{size}"], nbytes=SIZES[size], peer="tink")

    def run():
        return primitive.decrypt(primitive.encrypt(plaintext, AAD), AAD)

    assert benchmark(run) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_secretbox(benchmark, size):
    from nacl.secret import SecretBox

    box = SecretBox(os.urandom(32))
    plaintext = os.urandom(SIZES[size])
    tag(benchmark, f"peer.secretbox.{size}", f"PyNaCl SecretBox enc+dec {LABELS[size]}", section=f"messages-{size}",
        floor=[f"floor.aesgcm.{size}"], nbytes=SIZES[size], peer="PyNaCl")
    assert benchmark(lambda: box.decrypt(box.encrypt(plaintext))) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_fernet(benchmark, size):
    fernet = Fernet(Fernet.generate_key())
    plaintext = os.urandom(SIZES[size])
    tag(benchmark, f"peer.fernet.{size}", f"cryptography Fernet enc+dec {LABELS[size]}", section=f"messages-{size}",
        floor=[f"floor.aesgcm.{size}"], nbytes=SIZES[size], peer="cryptography")
    assert benchmark(lambda: fernet.decrypt(fernet.encrypt(plaintext))) == plaintext
