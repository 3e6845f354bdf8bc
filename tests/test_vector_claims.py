"""Must-fail vectors test what they claim: each input breaks its stated rule, and no rule checked before it.

(A vector that fails for an earlier reason passes every implementation that has the earlier check,
whether or not it has the one the vector names.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from domvia_e2ee import conformance
from domvia_e2ee._vectors import VECTORS_DIR
from domvia_e2ee.encoding import b64decode

CASES = {c["id"]: c for c in conformance.load_cases(VECTORS_DIR)}
MESSAGE_MEMBERS = {"v", "s", "r", "e", "k", "u", "t", "m", "p", "n", "c"}


def _text(case: dict[str, Any]) -> str:
    inputs = case["input"]
    return str(inputs.get("json", inputs.get("reference")))


def test_missing_member_vectors_are_objects_without_the_member() -> None:
    missing = [c for c in CASES.values() if c.get("reject") == "MR-JSON-MISSING" and c["op"] == "open"]
    assert {"json-missing-nonce", "json-missing-padding-flag"} <= {c["id"] for c in missing}
    for case in missing:
        obj = json.loads(_text(case))
        assert isinstance(obj, dict), case["id"]
        assert set(obj) < MESSAGE_MEMBERS, case["id"]
    assert set(json.loads(_text(CASES["json-missing-nonce"]))) == MESSAGE_MEMBERS - {"n"}


@pytest.mark.parametrize(("case_id", "path", "size"), [
    ("json-nonce-length", ("n",), 11),
    ("json-key-id-length", ("k",), 31),
    ("identity-jwk-short-key", ("enc", "x"), 31),
    ("attachment-reference-key-short", ("key",), 31),
    ("attachment-reference-root-short", ("root",), 31),
])
def test_decoded_length_vectors_are_canonical_base64url(case_id: str, path: tuple[str, ...], size: int) -> None:
    case = CASES[case_id]
    assert case["reject"] == "MR-B64-LENGTH"
    obj = json.loads(_text(case))
    value = obj
    for name in path:
        value = value[name]
    assert len(b64decode(value, "field")) == size  # canonical: padding, alphabet and trailing bits all pass


def test_every_decoded_length_vector_is_covered_above() -> None:
    assert {c["id"] for c in CASES.values() if c.get("reject") == "MR-B64-LENGTH"} == {
        "json-nonce-length", "json-key-id-length", "identity-jwk-short-key", "attachment-reference-key-short",
        "attachment-reference-root-short"}


def _must_reject_codes() -> dict[str, set[str]]:
    """MR item -> the codes spec/must-reject.md gives it (its own parentheses, else its section's)."""
    import re
    from pathlib import Path

    codes: dict[str, set[str]] = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "spec").glob("*.md")):
        section: set[str] = set()
        for line in path.read_text().splitlines():
            if line.startswith("## "):
                section = set(re.findall(r"E_[A-Z_]+", line))
            item = re.match(r"- \*\*(MR-[A-Z0-9-]+)\*\*( \(([^)]*)\))?", line)  # must-reject.md's lists
            row = re.match(r"\| \*\*(MR-[A-Z0-9-]+)\*\* \| ([A-Z_, ]+) \|", line)  # attachment.md's table
            if item:
                codes[item.group(1)] = set(re.findall(r"E_[A-Z_]+", item.group(3) or "")) or section
            elif row:
                codes[row.group(1)] = set(re.findall(r"E_[A-Z_]+", row.group(2)))
    return codes


def test_every_must_fail_vector_has_a_code_its_must_reject_item_lists() -> None:
    codes = _must_reject_codes()
    assert codes["MR-MSG-NONMEMBER"] == {"E_UNAUTHORIZED", "E_UNKNOWN_SENDER"}
    wrong = {c["id"]: (c["reject"], c["error"], sorted(codes.get(c["reject"], set())))
             for c in CASES.values() if "error" in c and c["error"] not in codes.get(c["reject"], set())}
    assert wrong == {}
    reported = {c["id"]: (c["reject"], _reported_codes(c)) for c in CASES.values() if "output" in c and "reject" in c}
    assert reported and all(found and found <= codes[item] for item, found in reported.values()), reported


def _reported_codes(case: dict) -> set[str]:
    """The codes a restore's output reports (spec/conformance.md): refused rooms and chunks."""
    restored = case["output"]["results"][-1]["restored"]
    return set(restored["refused_rooms"].values()) | {r.rsplit(": ", 1)[1] for r in restored["refused_chunks"]}
