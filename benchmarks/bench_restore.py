"""A new device restores 10,000 epoch keys from the key backup and re-reads a 10,000-message history,
beside vodozemac's Megolm doing the same.

domvia: alice's phone backed up one room of 10,000 epochs (3 chunks of up to 4,096 entries); her new
laptop restores them with the recovery key (every entry verified against the signed chain: header
signatures, the rotators' paths and device lists), then opens one signed message per epoch from three
senders with KeyRing.open_history (as open(check_replay=False), signatures on two threads).
Megolm: importing 10,000 exported session keys (InboundGroupSession.import_session), or restoring them
from a Matrix-style key backup (each session's JSON decrypted with PkDecryption, then imported); then
decrypting one message per session (Megolm verifies each message's Ed25519 signature on decrypt).

Timed in wall time (two threads), with the CPU time beside it. Standalone, `python -m
benchmarks.bench_restore` runs each case a few times and prints the medians and ratios.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks._restore_fixture import megolm_world, restore_world
from benchmarks._shared import tag, with_cpu_time
from domvia_e2ee import DomviaError
from domvia_e2ee.users.backup import restore

N = int(os.environ.get("DOMVIA_RESTORE_EPOCHS", "10000"))
ROUNDS = 5


def domvia_restore() -> tuple[Callable[[], tuple[tuple[Any, ...], dict[str, Any]]], Callable[[Any], Any]]:
    """(setup, run): setup makes the laptop's empty key ring, run restores into it."""
    world = restore_world(N)

    def run(ring: Any) -> Any:
        report = restore(ring, world.chunks, world.info, recovery_key=world.recovery_key)
        assert report.keys == N and not report.refused_rooms and not report.refused_chunks
        return report
    return lambda: ((world.new_ring(),), {}), run


def domvia_history() -> tuple[Any, Callable[[], Any]]:
    world = restore_world(N)
    ring = world.new_ring()
    restore(ring, world.chunks, world.info, recovery_key=world.recovery_key)

    def run() -> Any:
        results = ring.open_history(world.messages)
        assert not any(isinstance(r, DomviaError) for r in results)
        return results
    return ring, run


def megolm_import() -> Callable[[], Any]:
    vodozemac = pytest.importorskip("vodozemac")
    world = megolm_world(N)
    return lambda: [vodozemac.InboundGroupSession.import_session(vodozemac.ExportedSessionKey(e))
                    for e in world.exported]


def megolm_backup_restore() -> Callable[[], Any]:
    import json

    vodozemac = pytest.importorskip("vodozemac")
    world = megolm_world(N)
    backup_key = world.backup_key

    def run() -> Any:
        return [vodozemac.InboundGroupSession.import_session(vodozemac.ExportedSessionKey(
            json.loads(backup_key.decrypt(m))["session_key"])) for m in world.backed_up]
    return run


def megolm_decrypt() -> Callable[[], Any]:
    vodozemac = pytest.importorskip("vodozemac")
    world = megolm_world(N)
    sessions = megolm_import()()
    parse = vodozemac.MegolmMessage.from_bytes

    def run() -> Any:
        return [s.decrypt(parse(m)).plaintext for s, m in zip(sessions, world.messages, strict=True)]
    return run


LABELS = {
    "domvia.restore": f"domvia restore {N:,} epoch keys from the key backup (2 threads)",
    "domvia.history": f"domvia open_history, {N:,} signed messages, 3 senders (2 threads)",
    "peer.megolm-import": f"Megolm import {N:,} exported session keys (vodozemac)",
    "peer.megolm-backup": f"Megolm key backup restore, {N:,} sessions: PkDecryption + import (vodozemac)",
    "peer.megolm-decrypt": f"Megolm decrypt {N:,} messages, one per session (vodozemac)",
}
FLOORS = {"domvia.restore": ["peer.megolm-import"], "domvia.history": ["peer.megolm-decrypt"]}


@pytest.mark.parametrize("case", ["peer.megolm-import", "peer.megolm-backup", "peer.megolm-decrypt"])
def test_megolm(benchmark, case):
    run = {"peer.megolm-import": megolm_import, "peer.megolm-backup": megolm_backup_restore,
           "peer.megolm-decrypt": megolm_decrypt}[case]()
    tag(benchmark, f"{case}.{N}", LABELS[case], section="restore", peer="vodozemac")
    assert len(benchmark.pedantic(with_cpu_time(benchmark, run), rounds=ROUNDS, iterations=1, warmup_rounds=1)) == N


def test_domvia_restore(benchmark):
    setup, run = domvia_restore()
    tag(benchmark, f"domvia.restore.{N}", LABELS["domvia.restore"], section="restore",
        floor=[f"peer.megolm-import.{N}"])
    benchmark.pedantic(with_cpu_time(benchmark, run), setup=setup, rounds=ROUNDS, warmup_rounds=0)


def test_domvia_history(benchmark):
    _, run = domvia_history()
    tag(benchmark, f"domvia.history.{N}", LABELS["domvia.history"], section="restore",
        floor=[f"peer.megolm-decrypt.{N}"])
    assert len(benchmark.pedantic(with_cpu_time(benchmark, run), rounds=ROUNDS, iterations=1, warmup_rounds=1)) == N


def _median(run: Callable[[], Any], setup: Callable[[], Any] | None = None, rounds: int = ROUNDS) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        args = setup()[0] if setup else ()
        wall, cpu = time.perf_counter(), time.process_time()
        run(*args)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    from benchmarks.__main__ import effective_cores

    print(f"building {N:,} epochs and sessions ...", flush=True)
    restore_world(N)
    megolm_world(N)
    load, cores = os.getloadavg()[0], effective_cores()
    setup, run = domvia_restore()
    got = {"domvia.restore": _median(run, setup), "domvia.history": _median(domvia_history()[1]),
           "peer.megolm-import": _median(megolm_import()), "peer.megolm-backup": _median(megolm_backup_restore()),
           "peer.megolm-decrypt": _median(megolm_decrypt())}
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}; two busy processes got {cores:.2f} -> "
          f"{effective_cores():.2f} cores\n\n| case | wall (median of {ROUNDS}) | CPU |\n|---|---|---|")
    for key, (wall, cpu) in got.items():
        print(f"| {LABELS[key]} | {wall:.3f} s | {cpu:.3f} s |")
    ours = got["domvia.restore"][0] + got["domvia.history"][0]
    for name, theirs in (("import", got["peer.megolm-import"][0]), ("key backup", got["peer.megolm-backup"][0])):
        theirs += got["peer.megolm-decrypt"][0]
        print(f"restore + history: domvia {ours:.3f} s vs Megolm ({name} + decrypt) {theirs:.3f} s = {ours / theirs:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
