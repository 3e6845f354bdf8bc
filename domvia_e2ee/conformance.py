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
        cases.extend(load_cases_file(path))
    return cases


def load_cases_file(path: Path) -> list[Case]:
    cases: list[Case] = json.loads(path.read_text(encoding="utf-8"))["cases"]
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


def judge(case: Case, response: dict[str, Any] | str | None) -> Result:
    """A case passes when the response (an object, or a string saying why the line was not one) is the expected one."""
    if response is None:
        return Result(case["id"], False, "no response")
    if isinstance(response, str):
        return Result(case["id"], False, response)
    problem = _response_problem(case, response)
    if problem:
        return Result(case["id"], False, problem)
    got = {k: v for k, v in response.items() if k != "id"}
    want = expected_of(case)
    if json_equal(got, want):
        return Result(case["id"], True)
    return Result(case["id"], False, f"expected {_short(want)}, got {_short(got)}")


def _response_problem(case: Case, response: dict[str, Any]) -> str:
    """A response is an object with the case's id and exactly one of `output` (an object) or `error` (a string)."""
    if response.get("id") != case["id"]:
        return f"response id {_short(response.get('id'))} is not the case id (responses must come in order)"
    extra = sorted(set(response) - {"id", "output", "error"})
    if extra:
        return f"unknown member(s) in the response: {', '.join(extra)}"
    if ("output" in response) == ("error" in response):
        return "the response must have exactly one of output and error"
    if "output" in response and type(response["output"]) is not dict:
        return "output is not an object"
    if "error" in response and type(response["error"]) is not str:
        return "error is not a string"
    return ""


def json_equal(a: Any, b: Any) -> bool:
    """Type-strict JSON equality: true is not 1, 2.0 is not 2, and objects need the same member names.

    Python's == says True == 1 == 1.0 and would pass an implementation that writes "signed": 1.
    """
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if a is None or type(a) in (bool, int, float, str):
        return bool(a == b)
    return False  # not a JSON value


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def run_builtin(cases: Iterable[Case]) -> list[Result]:
    ops = all_ops()
    return [judge(case, respond(case, ops)) for case in cases]


ADAPTER = "adapter-process"
"""The case id of the extra failing result that reports a misbehaving adapter process."""


def run_external(command: str, cases: Sequence[Case], timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Starts the adapter once, streams every request, and matches responses in order.

    Besides one result per case, a failing result with id ADAPTER is added when the process itself
    misbehaved: it exited with a non-zero status or was killed by a signal, did not exit within the
    timeout after its standard input closed, or wrote anything after its last response.
    """
    # The command is the operator's own --impl argument, run without a shell.
    process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,  # noqa: S603
                               stdout=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", bufsize=1)
    assert process.stdin is not None and process.stdout is not None
    writer = threading.Thread(target=_feed, args=(process.stdin, cases), daemon=True)
    writer.start()
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        responses = [_read_response(process.stdout) for _ in cases]
        trailing = process.stdout.read()
        status = process.wait()
    finally:
        timer.cancel()
        process.stdout.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    results = [judge(case, response) for case, response in zip(cases, responses, strict=True)]
    problem = _process_problem(status, timed_out.is_set(), timeout, trailing)
    if problem:
        results.append(Result(ADAPTER, False, problem))
    return results


def _process_problem(status: int, timed_out: bool, timeout: float, trailing: str) -> str:
    if timed_out:
        return f"the adapter did not finish within {timeout:g} s and was killed"
    if status < 0:
        return f"the adapter was killed by signal {-status}"
    if status != 0:
        return f"the adapter exited with status {status}"
    if trailing:
        return f"the adapter wrote {len(trailing)} character(s) after its last response: {_short(trailing)}"
    return ""


def _feed(stream: IO[str], cases: Sequence[Case]) -> None:
    try:
        for case in cases:
            stream.write(json.dumps({"id": case["id"], "op": case["op"], "input": case["input"]}) + "\n")
        stream.close()
    except (BrokenPipeError, OSError):
        return


def _read_response(stream: IO[str]) -> dict[str, Any] | str | None:
    """One line of strict JSON (no duplicate member, no NaN or Infinity) holding an object; else what is
    wrong with the line, or None at the end of the stream."""
    line = stream.readline()
    if not line:
        return None
    if not line.endswith("\n"):
        return f"an unterminated line {_short(line)}"
    try:
        value = json.loads(line, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError as error:
        return f"not a JSON line ({error}): {_short(line)}"
    return value if type(value) is dict else f"not a JSON object: {_short(line)}"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member name")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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
