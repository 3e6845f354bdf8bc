"""The conformance runner: every vector against the built-in implementation or an external
one speaking the JSON-lines adapter protocol (spec/conformance.md).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from .conformance_registry import all_ops
from .errors import DomviaError

Case = dict[str, Any]
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Result:
    case_id: str
    passed: bool
    detail: str = ""


def load_cases(directory: Path) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(directory.glob("*.json")):
        cases.extend(json.loads(path.read_text(encoding="utf-8"))["cases"])
    return cases


def expected_of(case: Case) -> dict[str, Any]:
    return {"error": case["error"]} if "error" in case else {"output": case["output"]}


def respond(request: Case, ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> dict[str, Any]:
    """One request through the built-in implementation, as the adapter protocol would answer it."""
    handler = ops.get(request["op"])
    if handler is None:
        return {"id": request["id"], "error": "E_UNSUPPORTED"}
    try:
        return {"id": request["id"], "output": handler(request["input"])}
    except DomviaError as error:
        return {"id": request["id"], "error": error.code}


def judge(case: Case, response: dict[str, Any] | None) -> Result:
    if response is None:
        return Result(case["id"], False, "no response")
    got = {k: v for k, v in response.items() if k in ("output", "error")}
    want = expected_of(case)
    if got == want:
        return Result(case["id"], True)
    return Result(case["id"], False, f"expected {_short(want)}, got {_short(got)}")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def run_builtin(cases: Iterable[Case]) -> list[Result]:
    ops = all_ops()
    return [judge(case, respond(case, ops)) for case in cases]


def run_external(command: str, cases: Sequence[Case], timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Starts the adapter once, streams every request, and matches responses in order."""
    # The command is the operator's own --impl argument, run without a shell.
    process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,  # noqa: S603
                               stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
    assert process.stdin is not None and process.stdout is not None
    writer = threading.Thread(target=_feed, args=(process.stdin, cases), daemon=True)
    writer.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        responses = [_read_response(process.stdout) for _ in cases]
    finally:
        timer.cancel()
        process.stdout.close()
        process.wait()
    by_id = {r["id"]: r for r in responses if r is not None and "id" in r}
    return [judge(case, by_id.get(case["id"])) for case in cases]


def _feed(stream: IO[str], cases: Sequence[Case]) -> None:
    try:
        for case in cases:
            stream.write(json.dumps({"id": case["id"], "op": case["op"], "input": case["input"]}) + "\n")
        stream.close()
    except (BrokenPipeError, OSError):
        return


def _read_response(stream: IO[str]) -> dict[str, Any] | None:
    line = stream.readline()
    if not line:
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def report(results: Sequence[Result], out: TextIO, *, verbose: bool = True) -> int:
    for result in results:
        if verbose or not result.passed:
            line = f"PASS {result.case_id}" if result.passed else f"FAIL {result.case_id}: {result.detail}"
            print(line, file=out)
    passed = sum(r.passed for r in results)
    print(f"{passed} passed, {len(results) - passed} failed", file=out)
    return 0 if passed == len(results) and results else 1


def serve(stdin: TextIO, stdout: TextIO) -> None:
    """The built-in implementation behind the adapter protocol (for testing the runner itself)."""
    ops = all_ops()
    for line in stdin:
        request = json.loads(line)
        stdout.write(json.dumps(respond(request, ops)) + "\n")
        stdout.flush()
