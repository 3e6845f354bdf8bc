"""python -m benchmarks: run every benchmark, measure memory, write one results table.

Runs `pytest benchmarks --benchmark-json=...` (pytest-benchmark), then one subprocess per
memory case (benchmarks/_memory.py), then prints the table and writes it to
benchmarks/RESULTS.md and between the bench markers of README.md. Ratios divide by floors
measured in the same run. Nothing here asserts a speed: targets are reported as met or missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._report import MEMORY_CASES, Results, render

ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def run_pytest(json_path: Path, extra: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "benchmarks", "-p", "no:cacheprovider", "-q",
               f"--benchmark-json={json_path}", "--benchmark-min-rounds=20", "--benchmark-max-time=2.0",
               "--benchmark-columns=median,iqr,rounds", "--benchmark-sort=name", *extra]
    print("$", " ".join(command[2:]), flush=True)
    return subprocess.call(command, cwd=ROOT)


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
    parser.add_argument("--json", type=Path, help="also keep pytest-benchmark's JSON here")
    parser.add_argument("--from-json", type=Path, help="render from an earlier run's JSON, running nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="domvia-bench-") as tmp:
        json_path = args.from_json or args.json or Path(tmp) / "benchmarks.json"
        load = [os.getloadavg()[0]]
        if args.from_json is None:
            status = run_pytest(json_path, ["-k", args.k] if args.k else [])
            if status != 0:
                print(f"pytest exited with {status}: no table written", file=sys.stderr)
                return status
        load.append(os.getloadavg()[0])
        memory = {} if args.no_memory or args.k or args.from_json else run_memory(Path(tmp))
        results = Results.load(json.loads(json_path.read_text(encoding="utf-8")), memory)
        results.load_average = None if args.from_json else (load[0], load[1])
        results.niceness = None if args.from_json else os.getpriority(os.PRIO_PROCESS, 0)
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
