"""Turns pytest-benchmark's JSON and the memory measurements into one Markdown table.

Every benchmark tags itself (benchmarks/_shared.tag) with a key, a label, a section and the
floor it is divided by; a benchmark without tags (another file's) is listed under "Other"
by its pytest name. Ratios use medians from the same run.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SECTIONS = {
    "messages-200": "Chat message, 200 B: seal + serialise + parse + open",
    "messages-64k": "Chat message, 64 KiB (the largest; bigger payloads are attachments, benchmarked separately)",
    "rotation": "Rotation: a fresh room key to N members (total and per member)",
    "join": "Join: one member verifies and unwraps its key",
    "restore": "Restore and history: a new device restores 10,000 epoch keys and re-reads 10,000 messages, beside "
               "Megolm (wall time, 2 threads; ratio: to the Megolm case named in the floor column)",
    "device-add": "Adding a device to a 1,000-user room: one member's cost beside an ordinary rotation (CPU time; "
                  "ratio: to the ordinary rotation)",
    "primitives": "Other floors",
    "other": "Other benchmarks in benchmarks/",
}
PACKAGES = ("cryptography", "PyNaCl", "pytest-benchmark", "vodozemac", "tink", "pyrage")
MEMORY_CASES = [("domvia.rotate", n) for n in (10, 100, 1_000, 10_000)] + [
    ("domvia.join.slice", 10_000), ("domvia.join.slice.warm", 10_000), ("domvia.join.bundle", 10_000),
    ("peer.sealedbox", 1_000), ("peer.sealedbox", 10_000), ("peer.pyrage", 1_000), ("peer.pyrage", 10_000),
    ("peer.olm", 1_000), ("peer.olm", 10_000), ("peer.pyrage-decrypt", 1_000),
]


@dataclass
class Row:
    key: str
    label: str
    section: str
    median: float
    rounds: int
    info: dict[str, Any]


@dataclass
class Results:
    rows: dict[str, Row]
    memory: dict[str, dict[str, int]]
    when: str
    machine: dict[str, Any] = field(default_factory=dict)
    load_average: tuple[float, float] | None = None  # 1-minute load average when the timings started and ended
    niceness: int | None = None  # the benchmark's scheduling priority (negative: ahead of the other jobs)
    cores: tuple[float, float] | None = None  # cores two busy processes got, before and after the timings

    @classmethod
    def load(cls, data: dict[str, Any], memory: dict[str, dict[str, int]]) -> Results:
        rows = {}
        for bench in data["benchmarks"]:
            info = dict(bench.get("extra_info", {}))
            key = info.get("key", bench["fullname"])
            rows[key] = Row(key, info.get("label", bench["name"]), info.get("section", "other"),
                            bench["stats"]["median"], bench["stats"]["rounds"], info)
        return cls(rows, memory, data.get("datetime", ""), data.get("machine_info", {}))

    def median(self, key: str) -> float | None:
        row = self.rows.get(key)
        return row.median if row else None

    def floor(self, terms: list[Any]) -> float | None:
        """Adds the terms; a term that is a list counts its fastest member."""
        total = 0.0
        for term in terms:
            options = [self.median(k) for k in (term if isinstance(term, list) else [term])]
            known = [m for m in options if m is not None]
            if not known:
                return None
            total += min(known)
        return total

    def per_unit(self, row: Row) -> float:
        return row.median / row.info.get("per", 1)

    def ratio(self, row: Row) -> float | None:
        floor = self.floor(row.info["floor"]) if "floor" in row.info else None
        return self.per_unit(row) / floor if floor else None


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _rank(row: Row) -> tuple[int, str, int]:
    kind = {"floor": 0, "domvia": 1, "peer": 2}.get(row.key.split(".")[0], 3)
    return kind, row.key.rsplit(".", 1)[0] if "per" in row.info else row.key, row.info.get("per", 0)


def _section_rows(results: Results, section: str) -> list[Row]:
    return sorted((r for r in results.rows.values() if r.section == section), key=_rank)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def _floor_text(results: Results, row: Row) -> str:
    return fmt_time(results.floor(row.info["floor"])) if "floor" in row.info else ""


def _messages(results: Results, section: str) -> list[str]:
    rows = []
    for row in _section_rows(results, section):
        size = row.info.get("bytes")
        rate = f"{2 * size / row.median / 1e6:,.0f}" if size and section == "messages-64k" else ""
        rows.append([row.label, fmt_time(row.median), rate, fmt_ratio(results.ratio(row)), _floor_text(results, row)])
    header = ["case", "median", "MB/s (in+out)" if section == "messages-64k" else "", "ratio to floor", "floor"]
    if section != "messages-64k":
        header, rows = header[:2] + header[3:], [r[:2] + r[3:] for r in rows]
    return _table(header, rows)


def _cpu_text(row: Row) -> str:
    return fmt_time(row.info["cpu"] / row.info.get("per", 1)) if "cpu" in row.info else ""


def _per_member(results: Results, section: str) -> list[str]:
    rows = [[row.label, fmt_time(row.median), fmt_time(results.per_unit(row)) if "per" in row.info else "",
             _cpu_text(row), f"{row.info['bytes']:,}" if "bytes" in row.info else "", fmt_ratio(results.ratio(row)),
             _floor_text(results, row)] for row in _section_rows(results, section)]
    return _table(["case", "median total", "per member", "CPU (all threads)", "input bytes", "ratio to floor",
                   "floor"], rows)


def _memory(results: Results) -> list[str]:
    rows = []
    for case, n in MEMORY_CASES:
        got = results.memory.get(f"{case}.{n}")
        if got:
            base, peak = got["baseline_kib"] / 1024, got["peak_kib"] / 1024
            rows.append([case, f"{n:,}", f"{base:.1f}", f"{peak:.1f}", f"{peak - base:.1f}"])
    return _table(["case", "N", "RSS before (MiB)", "peak RSS (MiB)", "added by the operation (MiB)"], rows)


Check = Callable[[Results], tuple[str, bool | None]]


def _check(measured: float | None, bound: float | None, text: Callable[[float, float], str]) -> tuple[str, bool | None]:
    if measured is None or bound is None:
        return "not measured", None
    return text(measured, bound), measured <= bound


def _ratio_target(key: str, floor: list[Any], limit: float) -> Check:
    def check(r: Results) -> tuple[str, bool | None]:
        base = r.floor(floor)
        return _check(r.median(key), None if base is None else base * limit,
                      lambda m, b: f"{fmt_time(m)} = {m / (b / limit):.2f}x (limit {fmt_time(b)})")
    return check


def _faster(key: str, other: str, limit: float = 1.0) -> Check:
    def check(r: Results) -> tuple[str, bool | None]:
        theirs = r.median(other)
        return _check(r.median(key), None if theirs is None else theirs * limit,
                      lambda m, b: f"{fmt_time(m)} vs {fmt_time(b / limit)} = {m / (b / limit):.2f}x")
    return check


def _absolute(key: str, limit: float, per: int = 1) -> Check:
    def check(r: Results) -> tuple[str, bool | None]:
        total = r.median(key)
        return _check(None if total is None else total / per, limit, lambda m, b: f"{fmt_time(m)} (limit {fmt_time(b)})")
    return check


def _proof_size(r: Results) -> tuple[str, bool | None]:
    row = r.rows.get("domvia.join.sender.10000")
    size = row.info.get("bytes") if row else None
    return ("not measured", None) if size is None else (f"{size:,} B (limit 2,048 B)", size <= 2048)


def _slice_size(r: Results) -> tuple[str, bool | None]:
    row = r.rows.get("domvia.join.slice.10000")
    size = row.info.get("bytes") if row else None
    return ("not measured", None) if size is None else (f"{size:,} B (limit 2,048 B)", size <= 2048)


def _sum_faster(ours: list[str], theirs: list[str]) -> Check:
    def check(r: Results) -> tuple[str, bool | None]:
        mine, other = [r.median(k) for k in ours], [r.median(k) for k in theirs]
        if None in mine or None in other:
            return "not measured", None
        a, b = sum(m for m in mine if m is not None), sum(m for m in other if m is not None)
        return f"{fmt_time(a)} vs {fmt_time(b)} = {a / b:.2f}x", a <= b
    return check


def _no_larger(key: str, other: str) -> Check:
    def check(r: Results) -> tuple[str, bool | None]:
        a, b = (r.rows[k].info.get("bytes") if k in r.rows else None for k in (key, other))
        return ("not measured", None) if a is None or b is None else (f"{a:,} B vs {b:,} B", a <= b)
    return check


RESTORE = ["domvia.restore.10000", "domvia.history.10000"]
DEVICE_ADD = "domvia.member-{}.{}.1000"
ED = ["floor.ed25519.openssl.200", "floor.ed25519.libsodium.200"]
TARGETS: list[tuple[str, Check]] = [
    ("unsigned binary seal+open 200 B <= 1.5x raw AES-GCM", _ratio_target(
        "domvia.unsigned.binary.aes.200", ["floor.aesgcm.200"], 1.5)),
    ("unsigned binary seal+open 200 B ahead of Tink AEAD", _faster("domvia.unsigned.binary.aes.200", "peer.tink.200")),
    ("unsigned JSON seal+open 200 B <= 3x raw AES-GCM", _ratio_target(
        "domvia.unsigned.json.aes.200", ["floor.aesgcm.200"], 3.0)),
    ("signed seal+open 200 B <= 1.1x (fastest Ed25519 sign+verify + AES-GCM)", _ratio_target(
        "domvia.signed.binary.aes.200", [ED, "floor.aesgcm.200"], 1.1)),
    ("signed seal+open 200 B within 1.3x of Megolm", _faster("domvia.signed.binary.aes.200", "peer.megolm.200", 1.3)),
    ("rotation N=1,000 <= 35 µs per member (2 threads)", _absolute("domvia.rotate.1000", 35e-6, 1000)),
    ("rotation N=1,000 ahead of N x SealedBox", _faster("domvia.rotate.1000", "peer.sealedbox.1000")),
    ("rotation N=10,000 <= 0.4 s", _absolute("domvia.rotate.10000", 0.4)),
    ("join from slice at N=10,000 <= 0.3 ms", _absolute("domvia.join.slice.10000", 0.3e-3)),
    ("slice at N=10,000 <= 2 KiB", _slice_size),
    ("new sender for a slice holder at N=10,000 <= 0.3 ms", _absolute("domvia.join.sender.10000", 0.3e-3)),
    ("member proof at N=10,000 <= 2 KiB", _proof_size),
    ("restore + history of 10,000 epochs ahead of Megolm import + decrypt", _sum_faster(
        RESTORE, ["peer.megolm-import.10000", "peer.megolm-decrypt.10000"])),
    ("restore + history of 10,000 epochs ahead of Megolm key backup restore + decrypt", _sum_faster(
        RESTORE, ["peer.megolm-backup.10000", "peer.megolm-decrypt.10000"])),
    ("device add, 1,000 users: member's slice no larger than for an ordinary rotation", _no_larger(
        DEVICE_ADD.format("slice", "device-add"), DEVICE_ADD.format("slice", "ordinary"))),
    ("device add, 1,000 users: member's slice accept <= 1.1x an ordinary rotation's", _faster(
        DEVICE_ADD.format("slice", "device-add"), DEVICE_ADD.format("slice", "ordinary"), 1.1)),
    ("device add, 1,000 users: member's bundle accept <= 1.1x an ordinary rotation's", _faster(
        DEVICE_ADD.format("bundle", "device-add"), DEVICE_ADD.format("bundle", "ordinary"), 1.1)),
]


def _targets(results: Results) -> list[str]:
    rows = []
    for name, check in TARGETS:
        text, met = check(results)
        rows.append([name, text, {True: "met", False: "**missed**", None: "n/a"}[met]])
    return _table(["target", "measured (median)", "status"], rows)


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed: its benchmarks skipped)")
    return ", ".join(found)


def _openssl() -> str:
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def _cpu(machine: dict[str, Any]) -> str:
    brand = machine.get("cpu", {}).get("brand_raw") or platform.processor() or platform.machine()
    return f"{brand}, {os.cpu_count()} logical cores"


def render(results: Results) -> str:
    when = results.when or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    lines = [
        f"Measured {when[:19].replace('T', ' ')} UTC on {_cpu(results.machine)}, Linux, "
        f"Python {platform.python_version()}, {_openssl()} (cryptography's); {_versions()}.",
        "",
        "The machine is a **shared 2-core virtual machine** on which other jobs ran at the same time: "
        "absolute figures move by 10-30% between runs, so every ratio divides medians taken in the same "
        "run. Single-threaded cases (messages, floors, join) are timed in process CPU time "
        "(`--benchmark-timer=time.process_time`), which the other jobs' share of the cores does not "
        "inflate; rotation (2 threads) and the attachment cases (subprocesses) in wall time, with the "
        "rotation's CPU time beside it. Regenerate with `make bench` (or `python -m benchmarks`)."
        + ("" if results.cores is None else
           f" Two busy processes got {results.cores[0]:.2f} cores before the timings and "
           f"{results.cores[1]:.2f} after (2.00 on an idle machine): wall times on 2 threads "
           "cannot beat what the machine gave.")
        + ("" if results.load_average is None else
           f" The 1-minute load average was {results.load_average[0]:.1f} when the timings started and "
           f"{results.load_average[1]:.1f} when they ended (2 means both cores busy).")
        + ("" if not results.niceness else
           f" The benchmarks ran at niceness {results.niceness} (`nice -n {results.niceness} make bench`), "
           f"so the scheduler put them {'ahead of' if results.niceness < 0 else 'behind'} the other jobs."),
        "",
        "### Targets",
        "",
        *_targets(results),
        "",
        "Where the time goes when a target is missed (profiles, and the cost of each step from "
        "`python -m benchmarks.breakdown`) are in `benchmarks/PROFILE.md`.",
    ]
    for section in ("messages-200", "messages-64k", "rotation", "join", "restore", "device-add", "primitives", "other"):
        body = (_messages(results, section) if section.startswith("messages")
                else _per_member(results, section))
        if len(body) > 2:
            lines += ["", f"### {SECTIONS[section]}", "", *body]
    if results.memory:
        lines += ["", "### Peak memory (resident set, one fresh process per case)", "",
                  "Linux `/proc/self/status` in a fresh child per case: once the inputs exist, the "
                  "high-water mark is reset (`/proc/self/clear_refs`) and VmRSS read; VmHWM after the "
                  "operation is its peak. `.warm`: a first join already ran in the process, so the "
                  "libraries' one-time set-up is not counted. Details in benchmarks/_memory.py.", "",
                  *_memory(results)]
    return "\n".join(lines)
