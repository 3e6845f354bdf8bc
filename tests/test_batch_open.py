"""KeyRing.open_history (spec/keyring.md, "Opening a history"): each result is what open(check_replay=False)
returns or raises for that message, failures included, and the key ring ends as the one-by-one calls leave it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from core_helpers import ROOM, key_of, world

from domvia_e2ee import (
    DomviaError, KeyRing, Room, RoomKey, keyring_from_plaintext, keyring_to_plaintext, seal, seal_unsigned,
)
from domvia_e2ee.group import batch_open

NAMES = ("alice", "bob", "carol", "mallory", "dave")


def _clone(ring: KeyRing) -> KeyRing:
    return keyring_from_plaintext(json.loads(json.dumps(keyring_to_plaintext(ring))), ring.owner)


def _history() -> tuple[dict[str, KeyRing], list[Any]]:
    """alice (admin), bob and carol over 3 epochs; dave holds slices only (he knows alice, no one else);
    mallory is no member. The messages: many good ones, then every kind of failure, then good ones."""
    identities, rings = world(NAMES)
    room, rotation = Room.create(rings["alice"], ROOM, [identities[n].public for n in ("bob", "carol", "dave")])
    bundles = [rotation.bundle, room.rotate().bundle, room.rotate().bundle]
    for bundle in bundles:
        for name in ("bob", "carol"):
            rings[name].accept(bundle.to_bytes())
        rings["dave"].accept(bundle.slice_for(identities["dave"].participant_id).to_bytes())
    messages: list[Any] = []
    for index in range(40):
        sender = ("alice", "bob", "carol")[index % 3]
        messages.append(rings[sender].seal(ROOM, f"m{index}".encode()) if index % 4 else
                        seal(key_of(rings["alice"], ROOM, 1 + index % 3), b"old", message_id=f"o-{index}",
                             sender=identities[sender]))
    good = messages[1].to_bytes()
    tampered = good[:-70] + bytes([good[-70] ^ 1]) + good[-69:]
    other_key = RoomKey.generate(room_id=ROOM, epoch=2)  # a fork: another key under a held epoch, signed by a member
    messages += [
        tampered,
        seal(RoomKey.generate(room_id=ROOM, epoch=9), b"x", message_id="k-1", sender=identities["bob"]),  # unknown key
        seal(key_of(rings["alice"], ROOM, 3), b"x", message_id="n-1", sender=identities["mallory"]),  # not a member
        seal(other_key, b"x", message_id="f-1", sender=identities["bob"]),
        seal_unsigned(key_of(rings["alice"], ROOM, 3), b"x", message_id="u-1", sender_id="bob"),
        b"DVM\x01 not a message", 42, messages[5].to_json(), good,
    ]
    messages += [rings["carol"].seal(ROOM, f"late {i}".encode()) for i in range(30)]
    return rings, messages


def _one_by_one(ring: KeyRing, messages: list[Any]) -> list[Any]:
    out: list[Any] = []
    for message in messages:
        try:
            out.append(ring.open(message, check_replay=False))
        except DomviaError as error:
            out.append(error)
    return out


def _same(batch: list[Any], single: list[Any]) -> None:
    assert len(batch) == len(single)
    for got, want in zip(batch, single, strict=True):
        if isinstance(want, DomviaError):
            assert (type(got), got.code, str(got)) == (type(want), want.code, str(want))
        else:
            assert got == want


@pytest.mark.parametrize("threshold", [batch_open.PARALLEL_THRESHOLD, 1 << 30, 2])
@pytest.mark.parametrize("reader", ["bob", "dave"])
def test_batch_results_equal_one_by_one_results(monkeypatch: pytest.MonkeyPatch, threshold: int, reader: str) -> None:
    rings, messages = _history()
    single_ring, batch_ring = _clone(rings[reader]), _clone(rings[reader])
    single = _one_by_one(single_ring, messages)
    monkeypatch.setattr(batch_open, "PARALLEL_THRESHOLD", threshold)
    batch = batch_ring.open_history(messages)
    _same(batch, single)
    codes = {r.code for r in single if isinstance(r, DomviaError)}
    expected = {"E_AUTH", "E_UNKNOWN_KEY", "E_FORMAT", "E_USAGE", "E_POLICY"}
    expected |= {"E_UNKNOWN_SENDER"} if reader == "dave" else {"E_UNAUTHORIZED", "E_FORK"}
    assert codes == expected
    assert sum(not isinstance(r, DomviaError) for r in batch) > (40 if reader == "bob" else 10)
    assert keyring_to_plaintext(batch_ring) == keyring_to_plaintext(single_ring)  # message counts, fork evidence


def test_an_empty_history_and_unsigned_mode() -> None:
    rings, _ = _history()
    assert rings["bob"].open_history([]) == []
    ring = _clone(rings["bob"])
    ring.allow_unsigned = True
    key = key_of(rings["alice"], ROOM, 3)
    unsigned = [seal_unsigned(key, b"bot", message_id=f"u-{i}", sender_id=s) for i, s in enumerate(("bob", "zed"))]
    results = ring.open_history(unsigned)
    _same(results, _one_by_one(_clone(ring), unsigned))
    assert results[0].plaintext == b"bot" and not results[0].signed and results[1].code == "E_UNAUTHORIZED"
