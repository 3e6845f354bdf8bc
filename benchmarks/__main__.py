"""python -m benchmarks: run every benchmark, measure memory, write one results table.

Runs `pytest benchmarks --benchmark-json=...` (pytest-benchmark), then one subprocess per
memory case (benchmarks/_memory.py), then prints the table and writes it to
benchmarks/RESULTS.md and between the bench markers of README.md. Ratios divide by floors
measured in the same run. Nothing here asserts a speed: targets are reported as met or missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._report import MEMORY_CASES, Results, render

ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


# Single-threaded cases are timed in process CPU time, so the share of the cores other jobs
# take does not count; cases on several threads or processes (rotation, attachments) in wall time.
# A round lasts at least 0.5 ms: with pytest-benchmark's default of 5 µs a 2 µs call gets one
# iteration per round and the clock reads themselves add 5-40% (measured on AES-GCM, 200 B).
PASSES = (("cpu_timed", "time.process_time"), ("not cpu_timed", "time.perf_counter"))


def run_pytest(json_path: Path, marks: str, timer: str, extra: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "benchmarks", "-p", "no:cacheprovider", "-q", "-m", marks,
               f"--benchmark-timer={timer}", f"--benchmark-json={json_path}", "--benchmark-min-rounds=20",
               "--benchmark-min-time=0.0005",
               "--benchmark-max-time=2.0", "--benchmark-columns=median,iqr,rounds", "--benchmark-sort=name", *extra]
    print("$", " ".join(command[2:]), flush=True)
    status = subprocess.call(command, cwd=ROOT)
    return 0 if status == 5 else status  # 5: nothing selected (e.g. by -k) in this pass


def run_passes(folder: Path, extra: list[str]) -> tuple[int, dict[str, Any]]:
    """Both passes; one pytest-benchmark JSON document holding every benchmark."""
    merged: dict[str, Any] = {}
    for index, (marks, timer) in enumerate(PASSES):
        path = folder / f"pass{index}.json"
        status = run_pytest(path, marks, timer, extra)
        if status != 0:
            return status, merged
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            for bench in data["benchmarks"]:
                bench.setdefault("extra_info", {})["timer"] = timer
            merged = data | {"benchmarks": merged.get("benchmarks", []) + data["benchmarks"]}
    return 0, merged


def _spin(rounds: int) -> None:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()


def effective_cores(rounds: int = 400_000) -> float:
    """How many cores two busy processes get right now: 2.0 on an idle 2-core machine."""
    start = time.perf_counter()
    _spin(rounds)
    alone = time.perf_counter() - start
    workers = [multiprocessing.Process(target=_spin, args=(rounds,)) for _ in range(2)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return 2 * alone / (time.perf_counter() - start)


def run_memory(folder: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    subprocess.check_call([sys.executable, "-m", "benchmarks._memory", "prepare", str(folder)], cwd=ROOT)
    for case, n in MEMORY_CASES:
        result = subprocess.run([sys.executable, "-m", "benchmarks._memory", case, str(n), str(folder)], cwd=ROOT,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"memory {case} N={n}: skipped ({result.stderr.strip().splitlines()[-1:]})", flush=True)
            continue
        out[f"{case}.{n}"] = json.loads(result.stdout)
        print(f"memory {case} N={n}: {out[f'{case}.{n}']}", flush=True)
    return out


def write_readme(table: str) -> None:
    """Replaces the text between the markers; adds a Performance section if there is none."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + f"## Performance\n\n{block}\n"
    README.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("-k", help="only benchmarks matching this pytest -k expression (no files written)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", type=Path, help="also keep pytest-benchmark's JSON (both passes merged) here")
    parser.add_argument("--from-json", type=Path, help="render from an earlier run's JSON, running nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="domvia-bench-") as tmp:
        if args.from_json is not None:
            results = Results.load(json.loads(args.from_json.read_text(encoding="utf-8")), {})
        else:
            load, cores = [os.getloadavg()[0]], [effective_cores()]
            status, data = run_passes(Path(tmp), ["-k", args.k] if args.k else [])
            if status != 0 or not data.get("benchmarks"):
                print(f"pytest exited with {status} (or ran nothing): no table written", file=sys.stderr)
                return status or 1
            load.append(os.getloadavg()[0])
            cores.append(effective_cores())
            if args.json:
                args.json.write_text(json.dumps(data), encoding="utf-8")
            memory = {} if args.no_memory or args.k else run_memory(Path(tmp))
            results = Results.load(data, memory)
            results.load_average, results.cores = (load[0], load[1]), (cores[0], cores[1])
            results.niceness = os.getpriority(os.PRIO_PROCESS, 0)
    table = render(results)
    print(table)
    if not args.k:
        RESULTS_MD.write_text(f"# Benchmark results\n\nWritten by `python -m benchmarks`; do not edit.\n\n{table}\n",
                              encoding="utf-8")
        write_readme(table)
        print(f"wrote {RESULTS_MD.relative_to(ROOT)} and the README's Performance section")
    return 0


if __name__ == "__main__":
    sys.exit(main())
