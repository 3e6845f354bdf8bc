"""Every must-fail vector is refused by the check its reason names, and by no earlier one.

The reference runs each must-fail case and records where the refusal was raised: the innermost
function of the library that raised it, the function of the protocol layer above it that called the
shared primitive (the signature check of an epoch header is not the one of a message), and the field
a FormatError names. tests/vector_checks.json keeps that record, reviewed once per must-reject item;
the test fails when a vector starts failing somewhere else, for instance because a change made it
trip an earlier check (then it no longer tests what it claims), or when a new must-fail vector has
no reviewed entry. Regenerate after a reviewed change with

    DOMVIA_WRITE_VECTOR_CHECKS=1 .venv/bin/python -m pytest tests/test_vector_checks.py
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

from domvia_e2ee import conformance
from domvia_e2ee._vectors import VECTORS_DIR
from domvia_e2ee.conformance_registry import all_ops
from domvia_e2ee.errors import DomviaError, FormatError

RECORD = Path(__file__).with_name("vector_checks.json")
SHARED = ("hazmat/", "encoding.py", "wrap.py", "keys.py", "padding.py")


def _where(error: DomviaError) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "/domvia_e2ee/" in f.filename and "conformance" not in f.filename and "/_vectors/" not in f.filename]
    if not frames:
        return "?"
    names = [f.filename.split("/domvia_e2ee/")[-1].removesuffix(".py").replace("/", ".") + "." + f.name for f in frames]
    inner = names[-1]
    layer = next((n for f, n in zip(reversed(frames), reversed(names), strict=True)
                  if not any(s in f.filename for s in SHARED)), inner)
    place = inner if layer == inner else f"{layer} > {inner}"
    return f"{place} [{error.field}]" if isinstance(error, FormatError) else place


def _observed() -> dict[str, Any]:
    ops = all_ops()
    out: dict[str, Any] = {}
    for case in conformance.load_cases(VECTORS_DIR):
        if "error" not in case:
            continue
        try:
            ops[case["op"]](case["input"])
        except DomviaError as error:
            out[case["id"]] = {"reject": case["reject"], "code": error.code, "check": _where(error)}
        else:
            out[case["id"]] = {"reject": case["reject"], "code": None, "check": "accepted"}
    return dict(sorted(out.items()))


def test_the_record_names_a_check_for_every_must_fail_vector() -> None:
    """The record is not a rubber stamp: no entry says a must-fail vector was accepted or failed nowhere."""
    recorded = json.loads(RECORD.read_text())
    assert recorded and all(e["code"] and e["check"] not in ("accepted", "?") for e in recorded.values())


def test_every_must_fail_vector_fails_at_its_recorded_check() -> None:
    observed = _observed()
    if os.environ.get("DOMVIA_WRITE_VECTOR_CHECKS"):
        RECORD.write_text(json.dumps(observed, indent=1) + "\n")
    recorded = json.loads(RECORD.read_text())
    changed = {k: (recorded.get(k), v) for k, v in observed.items() if recorded.get(k) != v}
    gone = sorted(set(recorded) - set(observed))
    assert not changed and not gone, f"checks changed: {changed}; vectors gone: {gone}"
