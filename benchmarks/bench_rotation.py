"""Rotation to N members: wrap a fresh room key to each, build the member tree, sign.

Compared with the same N x 32-byte key sent three other ways: N x PyNaCl SealedBox, one age
(pyrage) encryption to N recipients, and a new Olm session + encrypt per device (vodozemac),
which is how Matrix shares a Megolm session key. The cases run grouped by N, so the ones
compared at one N are measured minutes apart at most on this shared machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks._shared import SIZES, identities, make_identity, publics, tag, with_cpu_time
from domvia_e2ee import KeyRing, Room, RoomKey, WrapKem
from domvia_e2ee.group.bundle import Plan, build_bundle

ROUNDS = {10: 200, 100: 40, 1_000: 10, 10_000: 5}
ROOM = "room-0123456789"
Case = tuple[str, str, Callable[[], Any], str | None]


def domvia_bundle(n: int) -> Case:
    """build_bundle: wraps on 2 threads (libsodium X25519 releases the GIL), tree, Ed25519 signature."""
    members, rotator = publics(n), identities(1)[0]
    epoch = iter(range(1, 1 << 30))

    def run():
        key = RoomKey.generate(room_id=ROOM, epoch=next(epoch))
        return build_bundle(rotator, key, members, kem=WrapKem.X25519, issued_at=1_700_000_000,
                        plan=Plan(b"\x01" * 32, admins=((rotator.participant_id, rotator.public.fingerprint),)))
    return f"domvia.rotate.{n}", f"domvia rotation bundle, N={n:,}", run, None


def domvia_room(n: int) -> Case:
    """Room.rotate(): the bundle plus the rotator accepting it into its own key ring."""
    room, _ = Room.create(KeyRing(identities(1)[0]), ROOM, publics(n)[1:])
    return f"domvia.room-rotate.{n}", f"domvia Room.rotate(), N={n:,}", room.rotate, None


def _boxes(n: int) -> list[Any]:
    from nacl.public import PublicKey, SealedBox

    return [SealedBox(PublicKey(member.x25519)) for member in publics(n)]


def sealedbox(n: int) -> Case:
    """N x SealedBox(public).encrypt(32-byte key), one thread: the obvious loop."""
    boxes, secret = _boxes(n), os.urandom(32)
    return (f"peer.sealedbox.{n}", f"N x SealedBox, 1 thread, N={n:,}",
            lambda: [box.encrypt(secret) for box in boxes], "PyNaCl")


def sealedbox_two_threads(n: int) -> Case:
    """The same on 2 threads, as domvia wraps: libsodium releases the GIL here too."""
    boxes, secret, half = _boxes(n), os.urandom(32), n // 2

    def run():
        first: list[bytes] = []
        worker = threading.Thread(target=lambda: first.extend(box.encrypt(secret) for box in boxes[:half]))
        worker.start()
        second = [box.encrypt(secret) for box in boxes[half:]]
        worker.join()
        return first + second
    return f"peer.sealedbox2.{n}", f"N x SealedBox, 2 threads, N={n:,}", run, "PyNaCl"


def age(n: int) -> Case:
    """age (pyrage): one encryption of a 32-byte key to N X25519 recipients."""
    pyrage = pytest.importorskip("pyrage")
    recipients = [pyrage.x25519.Identity.generate().to_public() for _ in range(n)]
    secret = os.urandom(32)
    return (f"peer.pyrage.{n}", f"age to N recipients (pyrage), N={n:,}",
            lambda: pyrage.encrypt(secret, recipients), "pyrage")


def olm(n: int) -> Case:
    """Matrix: a new Olm session to each device (its identity and one-time key) + encrypt the session key."""
    vodozemac = pytest.importorskip("vodozemac")
    sender, devices = vodozemac.Account(), []
    for _ in range(n):
        device = vodozemac.Account()
        device.generate_one_time_keys(1)
        devices.append((device.curve25519_key, next(iter(device.one_time_keys.values()))))
    session_key = vodozemac.GroupSession().session_key.to_base64().encode()

    def run():
        return [sender.create_outbound_session(identity, one_time).encrypt(session_key)
                for identity, one_time in devices]
    return f"peer.olm.{n}", f"Olm session + encrypt per device (vodozemac), N={n:,}", run, "vodozemac"


CASES = {"domvia-bundle": domvia_bundle, "domvia-room": domvia_room, "sealedbox": sealedbox,
         "sealedbox-2-threads": sealedbox_two_threads, "age": age, "olm": olm}
ONLY_LARGE = {"domvia-room", "sealedbox-2-threads"}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("n", SIZES)
def test_rotation(benchmark, n, case):
    if case in ONLY_LARGE and n < 1_000:
        pytest.skip("measured at N = 1,000 and 10,000 only")
    key, label, run, peer = CASES[case](n)
    tag(benchmark, key, label, section="rotation", floor=["floor.hpke-wrap"], per=n, peer=peer)
    result = benchmark.pedantic(with_cpu_time(benchmark, run), rounds=ROUNDS[n], iterations=1, warmup_rounds=1)
    assert result


def test_member_identities_are_distinct():
    """Guards the fixtures: every member in a room has its own keys."""
    assert make_identity(1).public != make_identity(2).public
