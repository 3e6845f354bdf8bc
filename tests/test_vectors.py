"""The published vectors: reproducible, passing, and covering the spec's MUST-reject list."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domvia_e2ee import conformance, labels
from domvia_e2ee._vectors import VECTORS_DIR, generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return conformance.load_cases(VECTORS_DIR)


def test_regeneration_is_byte_identical() -> None:
    rendered = generate()
    assert sorted(rendered) == sorted(p.name for p in VECTORS_DIR.glob("*.json"))
    for name, data in rendered.items():
        assert (VECTORS_DIR / name).read_bytes() == data, f"vectors/{name} is stale: regenerate it"


def test_every_vector_passes_the_reference_implementation(cases: list[dict]) -> None:
    failures = [r for r in conformance.run_builtin(cases) if not r.passed]
    assert not failures, failures[:5]


def test_case_shape(cases: list[dict]) -> None:
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for case in cases:
        assert set(case) in ({"id", "op", "description", "input", "output"},
                             {"id", "op", "description", "input", "output", "reject"},  # a reported refusal
                             {"id", "op", "description", "input", "error", "reject"}), case["id"]
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", case["id"]), case["id"]


def test_at_least_100_distinct_must_fail_reasons(cases: list[dict]) -> None:
    failing = [c for c in cases if "error" in c]
    assert len(failing) >= 100
    assert len({c["description"] for c in failing}) == len(failing)


def _spec_reject_ids() -> set[str]:
    return set(re.findall(r"\*\*(MR-[A-Z0-9-]+)\*\*", "".join(p.read_text() for p in SPEC.glob("*.md"))))


def test_every_must_reject_item_has_a_vector(cases: list[dict]) -> None:
    covered = {c["reject"] for c in cases if "reject" in c}
    spec_ids = _spec_reject_ids()
    assert spec_ids, "spec/must-reject.md lists no items"
    assert spec_ids - covered == set(), f"MUST-reject items without a vector: {sorted(spec_ids - covered)}"
    assert covered - spec_ids == set(), f"vectors cite items the spec does not list: {sorted(covered - spec_ids)}"


def test_spec_label_table_matches_the_code() -> None:
    table = (SPEC / "labels.md").read_text().split("Where each is used", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| .* \| `([0-9a-f]+)` \|$", table, re.M))
    in_code = {name: value.hex() for name, value in vars(labels).items() if name.isupper() and isinstance(value, bytes)}
    assert rows == in_code


def test_external_runner_speaks_the_adapter_protocol(cases: list[dict]) -> None:
    adapter = f"{sys.executable} -c 'import sys; from domvia_e2ee import conformance; " \
              f"conformance.serve(sys.stdin, sys.stdout)'"
    sample = cases[:: max(1, len(cases) // 60)]
    results = conformance.run_external(adapter, sample, timeout=120)
    assert all(r.passed for r in results), [r for r in results if not r.passed][:3]


def test_runner_reports_a_wrong_implementation(cases: list[dict]) -> None:
    liar = f"{sys.executable} -c 'import sys, json\nfor l in sys.stdin: print(json.dumps({{\"id\": json.loads(l)[\"id\"], \"error\": \"E_AUTH\"}}), flush=True)'"
    sample = [c for c in cases if "output" in c][:5]
    results = conformance.run_external(liar, sample, timeout=60)
    assert not any(r.passed for r in results)


def test_cli_vectors_check_and_conformance() -> None:
    check = subprocess.run([sys.executable, "-m", "domvia_e2ee.cli", "vectors", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert re.search(r"^\d+ passed, 0 failed$", check.stdout, re.M)
    run = subprocess.run([sys.executable, "-m", "domvia_e2ee.cli", "conformance", "--json"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["failed"] == 0 and summary["passed"] >= 250
