"""Joining: one member checks the signed bundle and unwraps its own key, at N = 10,000.

domvia: from the per-recipient slice (signed header, own leaf, inclusion path) and from the
full bundle. Peers: age (pyrage) decryption of a 1,000-recipient header, which tries
recipient stanzas in turn, and vodozemac creating the inbound Olm session that carries a
Megolm session key, then importing that key.
"""

from __future__ import annotations

import functools
import os

import pytest

from benchmarks._shared import VERIFY_FASTEST, identities, publics, tag, with_cpu_time
from domvia_e2ee import Bundle, KeyRing, RoomKey, WrapKem
from domvia_e2ee.group.bundle import Plan, build_bundle

N = 10_000
ROOM = "room-0123456789"
FLOOR = [VERIFY_FASTEST, "floor.hpke-unwrap"]


@functools.cache
def room_bundle(n: int) -> Bundle:
    key = RoomKey.generate(room_id=ROOM, epoch=2)
    return build_bundle(identities(1)[0], key, publics(n), kem=WrapKem.X25519, issued_at=1_700_000_000,
                        plan=Plan(b"\x01" * 32, admins=((identities(1)[0].participant_id, identities(1)[0].public.fingerprint),)))


def _joiner_ring(n: int):
    """A fresh key ring for the middle member, trusting the rotator as the room's admin."""
    ring = KeyRing(identities(n)[n // 2])
    ring.trust_admin(ROOM, identities(1)[0].public)
    return (ring,), {}


@pytest.mark.cpu_timed
@pytest.mark.parametrize("form", ["slice", "bundle"])
def test_domvia_join(benchmark, form):
    bundle = room_bundle(N)
    joiner = identities(N)[N // 2]
    data = bundle.slice_for(joiner.participant_id).to_bytes() if form == "slice" else bundle.to_bytes()
    tag(benchmark, f"domvia.join.{form}.{N}", f"domvia join from {form} ({len(data):,} B), N={N:,}", section="join", floor=FLOOR,
        nbytes=len(data))
    accepted = benchmark.pedantic(with_cpu_time(benchmark, lambda ring: ring.accept(data)), setup=lambda: _joiner_ring(N),
                                  rounds=200 if form == "slice" else 5, warmup_rounds=1)
    assert accepted.epochs == (2,)


def test_pyrage_decrypt(benchmark):
    pyrage = pytest.importorskip("pyrage")
    n = 1_000
    keys = [pyrage.x25519.Identity.generate() for _ in range(n)]
    secret = os.urandom(32)
    data = pyrage.encrypt(secret, [key.to_public() for key in keys])
    mine = [keys[n // 2]]
    tag(benchmark, f"peer.pyrage-decrypt.{n}", f"age decrypt, middle of N={n:,} recipients ({len(data):,} B)", section="join",
        floor=FLOOR, nbytes=len(data), peer="pyrage")
    # age parses its header in time quadratic in the recipients (about 7 s at N=1,000 here): few rounds.
    assert benchmark.pedantic(pyrage.decrypt, args=(data, mine), rounds=3, warmup_rounds=0) == secret


@pytest.mark.cpu_timed
def test_olm_inbound(benchmark):
    vodozemac = pytest.importorskip("vodozemac")
    sender = vodozemac.Account()
    session_key = vodozemac.GroupSession().session_key.to_base64()

    def setup():
        device = vodozemac.Account()
        device.generate_one_time_keys(1)
        outbound = sender.create_outbound_session(device.curve25519_key, next(iter(device.one_time_keys.values())))
        return (device, outbound.encrypt(session_key.encode()).to_pre_key()), {}

    def run(device, message):
        _, plaintext = device.create_inbound_session(sender.curve25519_key, message)
        return vodozemac.InboundGroupSession(vodozemac.SessionKey(plaintext.decode()))

    tag(benchmark, "peer.olm-inbound", "Olm inbound session + Megolm key import (vodozemac)", section="join", floor=FLOOR,
        peer="vodozemac")
    assert benchmark.pedantic(run, setup=setup, rounds=200, warmup_rounds=1) is not None
