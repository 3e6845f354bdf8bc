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


def _slice_holder(n: int):
    """The middle member holding epoch 2 from its slice only: it knows the rotator, nobody else."""
    bundle = room_bundle(n)
    (ring,), _ = _joiner_ring(n)
    ring.accept(bundle.slice_for(identities(n)[n // 2].participant_id).to_bytes())
    return ring


@pytest.mark.cpu_timed
def test_domvia_new_sender(benchmark):
    """A slice holder meets a new sender: verifies its member proof (O(log n)), then opens its signed message."""
    bundle = room_bundle(N)
    sender = identities(N)[N // 3]
    from domvia_e2ee import MemberProofFile
    from domvia_e2ee.sealing import seal

    proof = MemberProofFile(ROOM, 2, bundle.proof_for(sender.participant_id)).to_bytes()
    key = RoomKey(bytes(_sender_key(bundle, sender)), room_id=ROOM, epoch=2)
    message = seal(key, b"x" * 200, message_id="m-1", sender=sender).to_bytes()
    tag(benchmark, f"domvia.join.sender.{N}", f"domvia new sender: member proof ({len(proof):,} B) + open, N={N:,}",
        section="join", floor=FLOOR, nbytes=len(proof))

    def run(ring):
        ring.accept(proof)
        return ring.open(message)

    opened = benchmark.pedantic(with_cpu_time(benchmark, run), setup=lambda: ((_slice_holder(N),), {}), rounds=100,
                                warmup_rounds=1)
    assert opened.sender_id == sender.participant_id


def _sender_key(bundle: Bundle, sender) -> RoomKey:
    from domvia_e2ee.wrap import unwrap

    header = bundle.header
    member = bundle.members[bundle.index_of(sender.participant_id)]
    return unwrap(sender, member.wrapped, kem=header.kem, suite=header.suite, room_id=ROOM, epoch=2, key_id=header.key_id)


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
