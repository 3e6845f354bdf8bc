"""Rotation to N members: wrap a fresh room key to each, build the member tree, sign.

Compared with the same N x 32-byte key sent three other ways: N x PyNaCl SealedBox, one age
(pyrage) encryption to N recipients, and a new Olm session + encrypt per device (vodozemac),
which is how Matrix shares a Megolm session key.
"""

from __future__ import annotations

import os
import threading

import pytest

from benchmarks._shared import SIZES, identities, make_identity, publics, tag, with_cpu_time
from domvia_e2ee import KeyRing, Room, RoomKey, WrapKem
from domvia_e2ee.bundle import build_bundle

ROUNDS = {10: 200, 100: 40, 1_000: 10, 10_000: 5}
ROOM = "room-0123456789"


def _rounds(benchmark, target, n):
    return benchmark.pedantic(with_cpu_time(benchmark, target), rounds=ROUNDS[n], iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("n", SIZES)
def test_domvia_build_bundle(benchmark, n):
    """build_bundle: wraps on 2 threads (libsodium X25519 releases the GIL), tree, Ed25519 signature."""
    members, rotator = publics(n), identities(1)[0]
    tag(benchmark, f"domvia.rotate.{n}", f"domvia rotation bundle, N={n:,}", section="rotation", floor=["floor.hpke-wrap"], per=n)
    epoch = iter(range(1, 1 << 30))

    def run():
        key = RoomKey.generate(room_id=ROOM, epoch=next(epoch))
        return build_bundle(rotator, key, members, kem=WrapKem.X25519, issued_at=1_700_000_000, proof=None)

    bundle = _rounds(benchmark, run, n)
    assert bundle.header.member_count == n


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_domvia_room_rotate(benchmark, n):
    """Room.rotate(): the bundle plus the rotator accepting it into its own key ring."""
    owner = identities(1)[0]
    room, _ = Room.create(KeyRing(owner), ROOM, publics(n)[1:])
    tag(benchmark, f"domvia.room-rotate.{n}", f"domvia Room.rotate(), N={n:,}", section="rotation", floor=["floor.hpke-wrap"], per=n)
    rotation = _rounds(benchmark, room.rotate, n)
    assert rotation.bundle.header.member_count == n


def _sealed_box_recipients(n):
    from nacl.public import PublicKey, SealedBox

    return [SealedBox(PublicKey(member.x25519)) for member in publics(n)]


@pytest.mark.parametrize("n", SIZES)
def test_sealedbox(benchmark, n):
    """N x SealedBox(public).encrypt(32-byte key), one thread: the obvious loop."""
    pytest.importorskip("nacl")
    boxes, secret = _sealed_box_recipients(n), os.urandom(32)
    tag(benchmark, f"peer.sealedbox.{n}", f"N x SealedBox, 1 thread, N={n:,}", section="rotation", floor=["floor.hpke-wrap"],
        per=n, peer="PyNaCl")
    out = _rounds(benchmark, lambda: [box.encrypt(secret) for box in boxes], n)
    assert len(out) == n


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_sealedbox_two_threads(benchmark, n):
    """The same on 2 threads, as domvia wraps: libsodium releases the GIL here too."""
    pytest.importorskip("nacl")
    boxes, secret = _sealed_box_recipients(n), os.urandom(32)
    tag(benchmark, f"peer.sealedbox2.{n}", f"N x SealedBox, 2 threads, N={n:,}", section="rotation", floor=["floor.hpke-wrap"],
        per=n, peer="PyNaCl")

    def run():
        half = n // 2
        first: list[bytes] = []
        worker = threading.Thread(target=lambda: first.extend(box.encrypt(secret) for box in boxes[:half]))
        worker.start()
        second = [box.encrypt(secret) for box in boxes[half:]]
        worker.join()
        return first + second

    assert len(_rounds(benchmark, run, n)) == n


@pytest.mark.parametrize("n", SIZES)
def test_pyrage(benchmark, n):
    """age (pyrage): one encryption of a 32-byte key to N X25519 recipients."""
    pyrage = pytest.importorskip("pyrage")
    recipients = [pyrage.x25519.Identity.generate().to_public() for _ in range(n)]
    secret = os.urandom(32)
    tag(benchmark, f"peer.pyrage.{n}", f"age to N recipients (pyrage), N={n:,}", section="rotation", floor=["floor.hpke-wrap"],
        per=n, peer="pyrage")
    assert _rounds(benchmark, lambda: pyrage.encrypt(secret, recipients), n)


@pytest.mark.parametrize("n", SIZES)
def test_olm_per_device(benchmark, n):
    """Matrix: a new Olm session to each device (its identity and one-time key) + encrypt the session key."""
    vodozemac = pytest.importorskip("vodozemac")
    sender, devices = vodozemac.Account(), []
    for _ in range(n):
        device = vodozemac.Account()
        device.generate_one_time_keys(1)
        devices.append((device.curve25519_key, next(iter(device.one_time_keys.values()))))
    session_key = vodozemac.GroupSession().session_key.to_base64().encode()
    tag(benchmark, f"peer.olm.{n}", f"Olm session + encrypt per device (vodozemac), N={n:,}", section="rotation",
        floor=["floor.hpke-wrap"], per=n, peer="vodozemac")

    def run():
        return [sender.create_outbound_session(identity, one_time).encrypt(session_key)
                for identity, one_time in devices]

    assert len(_rounds(benchmark, run, n)) == n


def test_member_identities_are_distinct():
    """Guards the fixtures: every member in a room has its own keys."""
    assert make_identity(1).public != make_identity(2).public
