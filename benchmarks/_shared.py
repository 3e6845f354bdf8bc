"""Inputs and tagging helpers shared by the bench_*.py files.

Identities come from fixed seeds and are generated once per session: 10,000 of them take
seconds, and every benchmark at a given N uses the same members.
"""

from __future__ import annotations

import functools
import hashlib
import statistics
import time
from collections.abc import Callable
from typing import Any

from domvia_e2ee import Identity, PublicIdentity

SIZES = (10, 100, 1_000, 10_000)
# Floors: a term is a key, or a list of keys of which the fastest counts; terms add up.


def ed25519_fastest(size: str) -> list[str]:
    return [f"floor.ed25519.openssl.{size}", f"floor.ed25519.libsodium.{size}"]


VERIFY_FASTEST = ["floor.ed25519-verify.openssl", "floor.ed25519-verify.libsodium"]


def _seed(label: str, index: int) -> bytes:
    return hashlib.sha256(f"domvia-bench {label} {index}".encode()).digest()


def member_id(index: int) -> str:
    return f"member-{index:06d}"


def make_identity(index: int) -> Identity:
    return Identity(member_id(index), x25519_private=_seed("x25519", index), ed25519_seed=_seed("ed25519", index))


_POOL: list[Identity] = []


def identities(count: int) -> tuple[Identity, ...]:
    """The first `count` members: a room of 10 is the first 10 members of the room of 10,000."""
    while len(_POOL) < count:
        _POOL.append(make_identity(len(_POOL)))
    return tuple(_POOL[:count])


@functools.cache
def publics(count: int) -> tuple[PublicIdentity, ...]:
    return tuple(identity.public for identity in identities(count))


def run_rounds(benchmark: Any, target: Any, *, rounds: int, setup: Any = None) -> Any:
    """pedantic() with one call per round: for operations long enough to time one by one."""
    if setup is None:
        return benchmark.pedantic(target, rounds=rounds, iterations=1, warmup_rounds=1)
    return benchmark.pedantic(target, setup=setup, rounds=rounds, warmup_rounds=1)


def tag(benchmark: Any, key: str, label: str, *, section: str, floor: Any = None, per: int | None = None,
        nbytes: int | None = None, peer: str | None = None) -> None:
    """What the table (benchmarks/_report.py) needs: a stable key, a label, its section,
    the floor to divide by (see above), members per call, bytes per call."""
    benchmark.extra_info.update({"key": key, "label": label, "section": section})
    if floor is not None:
        benchmark.extra_info["floor"] = floor
    if per is not None:
        benchmark.extra_info["per"] = per
    if nbytes is not None:
        benchmark.extra_info["bytes"] = nbytes
    if peer is not None:
        benchmark.extra_info["peer"] = peer


def with_cpu_time(benchmark: Any, target: Callable[..., Any]) -> Callable[..., Any]:
    """target, also recording the median process-CPU time per call (all threads) in extra_info:
    wall time on a shared machine depends on the other jobs, CPU time much less."""
    samples: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return target(*args, **kwargs)
        finally:
            samples.append(time.process_time() - start)
            benchmark.extra_info["cpu"] = statistics.median(samples)
    return timed
