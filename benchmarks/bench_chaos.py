"""The chaos simulation at scale: events per second and unable-to-decrypt (UTD) counts.

Users with one to three devices, device lists, backups and restores, a lossy relay and a malicious server
(domvia_e2ee/_sim). Standalone: `python -m benchmarks.bench_chaos` plays DOMVIA_CHAOS_EVENTS events (default
100,000) per seed in DOMVIA_CHAOS_SEEDS (default "1"), malicious server on unless DOMVIA_CHAOS_HONEST=1, and
prints one line per seed with the load average (the figure is wall-clock, so a loaded machine reads slower). Under
`python -m benchmarks` (pytest-benchmark) it plays DOMVIA_CHAOS_BENCH_EVENTS (default 5,000) once, so
the table gets a figure without a long run. UTD must be 0: a non-zero count is printed, not hidden.
"""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks._shared import tag
from domvia_e2ee._sim.world import Report, Settings, run

pytestmark = pytest.mark.cpu_timed  # single-threaded


def _line(report: Report) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    restores = sum(n for k, n in report.codes.items() if k.startswith("probe:"))
    return (f"seed {report.seed}: {report.events} events in {report.seconds:.1f} s = "
            f"{report.events_per_second:,.0f} events/s; {report.messages} messages, {report.reads} reads "
            f"({report.codes.get('history:message:ok', 0)} as restored history); {report.devices} device "
            f"incarnations, {restores} restore probes; UTD {len(report.utd)}; refused live by delivery order "
            f"{report.refused_by_order}; load average {load}")


def test_chaos(benchmark):
    events = int(os.environ.get("DOMVIA_CHAOS_BENCH_EVENTS", "5000"))
    tag(benchmark, "sim.chaos", f"chaos simulation, {events} events (malicious server, lossy relay)",
        section="other")
    report = benchmark.pedantic(lambda: run(1, events), rounds=1, iterations=1)
    benchmark.extra_info.update({"events_per_second": report.events_per_second, "utd": len(report.utd)})
    assert report.utd == []


def main() -> int:
    events = int(os.environ.get("DOMVIA_CHAOS_EVENTS", "100000"))
    seeds = [int(s) for s in os.environ.get("DOMVIA_CHAOS_SEEDS", "1").split(",")]
    worst = 0
    for seed in seeds:
        report = run(seed, events, Settings(malicious=os.environ.get("DOMVIA_CHAOS_HONEST") != "1"))
        print(_line(report), flush=True)
        worst = max(worst, len(report.utd))
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
