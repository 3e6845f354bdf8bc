"""Runs one harness under atheris (libFuzzer): `python fuzz/fuzz_one.py HARNESS [libFuzzer flags] [corpus dirs]`.

The library is instrumented for coverage; the harness is fuzz/harnesses.py's plain function, so a
finding reproduces without atheris: `python -c "..."` with the crash file's bytes (see fuzz/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["domvia_e2ee", "harnesses"]):
    import harnesses


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in harnesses.HARNESSES:
        sys.exit(f"usage: fuzz_one.py HARNESS [libFuzzer args]; harnesses: {', '.join(harnesses.HARNESSES)}")
    harness = harnesses.HARNESSES[sys.argv[1]]
    harnesses.world()  # built before fuzzing starts, so its cost is not counted as a slow input
    atheris.Setup([sys.argv[0], *sys.argv[2:]], harness)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
