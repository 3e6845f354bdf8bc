"""The conformance runner itself: it must fail broken implementations.

Each broken adapter is a small script written to tmp_path that answers through the built-in
reference implementation (conformance.respond) and then corrupts the answer, or its exit, the way a
plausible bug in another implementation would. The runner must fail every one of them, and still
pass the genuine reference behind the same protocol.
"""

from __future__ import annotations

import io
import shlex
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from domvia_e2ee import conformance
from domvia_e2ee._vectors import VECTORS_DIR

# The reference adapter, with one hook between its answer and the line it writes.
WRAPPER = '''
import json, sys
from domvia_e2ee import conformance
from domvia_e2ee.conformance_registry import all_ops

ops = all_ops()
STATE = {{}}

{corrupt}

for line in sys.stdin:
    request = json.loads(line)
    response = conformance.respond(request, ops)
    sys.stdout.write(corrupt(request, response) + "\\n")
    sys.stdout.flush()
{after}
'''


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return conformance.load_cases(VECTORS_DIR)


def _case_file(cases: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    ids = {c["id"] for c in conformance.load_cases_file(VECTORS_DIR / f"{name}.json")}
    return [c for c in cases if c["id"] in ids]


def _adapter(tmp_path: Path, corrupt: str, after: str = "") -> str:
    script = tmp_path / "adapter.py"
    script.write_text(WRAPPER.format(corrupt=textwrap.dedent(corrupt), after=textwrap.dedent(after)), encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def _failed(command: str, cases: list[dict[str, Any]]) -> dict[str, str]:
    results = conformance.run_external(command, cases, timeout=120)
    return {r.case_id: r.detail for r in results if not r.passed}


PASS_THROUGH = """
def corrupt(request, response):
    return json.dumps(response)
"""


def test_the_wrapped_reference_passes(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    """The harness of every broken adapter below, with nothing corrupted, passes: so each failure is the corruption's."""
    sample = _case_file(cases, "message") + _case_file(cases, "identity")
    assert _failed(_adapter(tmp_path, PASS_THROUGH), sample) == {}


def test_booleans_written_as_integers_fail(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    corrupt = """
    def fix(value):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    def corrupt(request, response):
        return json.dumps(fix(response))
    """
    sample = [c for c in _case_file(cases, "message") if c["op"] == "open" and "output" in c]
    failed = _failed(_adapter(tmp_path, corrupt), sample)
    assert set(failed) == {c["id"] for c in sample}
    assert '"signed": true' in failed["open-aes-signed-binary"] and '"signed": 1' in failed["open-aes-signed-binary"]


def test_integers_written_as_floats_fail(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    corrupt = """
    def fix(value):
        if type(value) is int:
            return float(value)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    def corrupt(request, response):
        return json.dumps(fix(response))
    """
    sample = [c for c in _case_file(cases, "keyring") if "output" in c][:5]
    assert sample, "the key ring vectors have integer outputs (epochs)"
    failed = _failed(_adapter(tmp_path, corrupt), sample)
    assert set(failed) == {c["id"] for c in sample}
    assert all(".0" in detail for detail in failed.values())


def test_a_non_zero_exit_status_fails_the_run(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    sample = _case_file(cases, "padding")
    failed = _failed(_adapter(tmp_path, PASS_THROUGH, after="sys.exit(3)"), sample)
    assert failed == {conformance.ADAPTER: "the adapter exited with status 3"}
    results = conformance.run_external(_adapter(tmp_path, PASS_THROUGH, after="sys.exit(3)"), sample, timeout=60)
    out = io.StringIO()
    assert conformance.report(results, out, verbose=False) == 1
    assert f"FAIL {conformance.ADAPTER}: the adapter exited with status 3" in out.getvalue()


def test_a_crash_fails_the_run(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    sample = _case_file(cases, "padding")
    crash = "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"
    failed = _failed(_adapter(tmp_path, PASS_THROUGH, after=crash), sample)
    assert failed == {conformance.ADAPTER: "the adapter was killed by signal 11"}


def test_an_adapter_that_never_exits_times_out(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    sample = _case_file(cases, "padding")[:3]
    command = _adapter(tmp_path, PASS_THROUGH, after="import time\ntime.sleep(60)")
    results = conformance.run_external(command, sample, timeout=3)
    assert [r.case_id for r in results if not r.passed] == [conformance.ADAPTER]
    assert "did not finish within 3 s" in results[-1].detail


def test_an_adapter_that_dies_early_fails_every_unanswered_case(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    sample = _case_file(cases, "padding")
    corrupt = """
    def corrupt(request, response):
        STATE["n"] = STATE.get("n", 0) + 1
        if STATE["n"] > 2:
            sys.exit(0)
        return json.dumps(response)
    """
    failed = _failed(_adapter(tmp_path, corrupt), sample)
    assert set(failed) == {c["id"] for c in sample[2:]}
    assert set(failed.values()) == {"no response"}


@pytest.mark.parametrize(("garbage", "why"), [
    ('"print debugging"', "not a JSON object"),
    ("hello", "not a JSON line"),
    ('{"id": "ID", "output": {}, "output": {}}', "duplicate member name"),
    ('{"id": "ID", "output": {"x": NaN}}', "NaN is not JSON"),
    ('{"id": "ID", "output": {}, "error": "E_AUTH"}', "exactly one of output and error"),
    ('{"id": "ID", "error": "E_AUTH", "detail": "x"}', "unknown member(s) in the response: detail"),
    ('{"id": "ID", "error": 1}', "error is not a string"),
    ('{"id": "ID", "output": []}', "output is not an object"),
    ('{"id": "another", "error": "E_AUTH"}', "is not the case id"),
])
def test_garbage_on_stdout_fails(tmp_path: Path, cases: list[dict[str, Any]], garbage: str, why: str) -> None:
    sample = _case_file(cases, "padding")[:4]
    corrupt = f"""
    def corrupt(request, response):
        if request["id"] == {sample[1]["id"]!r}:
            return {garbage!r}.replace('"ID"', json.dumps(request["id"]))
        return json.dumps(response)
    """
    failed = _failed(_adapter(tmp_path, corrupt), sample)
    assert list(failed) == [sample[1]["id"]]
    assert why in failed[sample[1]["id"]]


def test_output_after_the_last_response_fails_the_run(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    sample = _case_file(cases, "padding")[:3]
    failed = _failed(_adapter(tmp_path, PASS_THROUGH, after='print("done")'), sample)
    assert list(failed) == [conformance.ADAPTER]
    assert "after its last response" in failed[conformance.ADAPTER]


def test_every_error_reported_as_e_auth_fails(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    corrupt = """
    def corrupt(request, response):
        if "error" in response:
            response["error"] = "E_AUTH"
        return json.dumps(response)
    """
    sample = _case_file(cases, "message") + _case_file(cases, "identity")
    failed = _failed(_adapter(tmp_path, corrupt), sample)
    not_auth = {c["id"] for c in sample if c.get("error", "E_AUTH") != "E_AUTH"}
    assert len(not_auth) > 50
    assert set(failed) == not_auth


def test_every_must_fail_accepted_fails(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    """An implementation that accepts what it should refuse, answering with some plausible output."""
    corrupt = """
    def corrupt(request, response):
        if "error" in response:
            response = {"id": request["id"], "output": {"content": "", "sender_id": "alice", "message_id": "m",
                                                        "content_type": "text/plain", "signed": False}}
        return json.dumps(response)
    """
    sample = _case_file(cases, "message") + _case_file(cases, "identity") + _case_file(cases, "wrap")
    failed = _failed(_adapter(tmp_path, corrupt), sample)
    assert set(failed) == {c["id"] for c in sample if "error" in c}


# An implementation whose AEAD does not cover the header: the same nonce and ciphertext open under any
# header. Modelled through the protocol by remembering each message's header by its nonce and ciphertext:
# when the reference refuses a message with E_AUTH, the adapter opens the same body under the header it
# saw first, and reports the fields of the header it was given, as an AAD-ignoring implementation would.
IGNORE_AAD = """
import binascii

def header_end(data):
    pos = 6 + 1 + data[6] + 4 + 32
    for _ in range(3):
        pos += 1 + data[pos]
    return pos

def fields(header):
    pos = 6 + 1 + header[6] + 4 + 32
    out = []
    for _ in range(3):
        out.append(header[pos + 1:pos + 1 + header[pos]].decode())
        pos += 1 + header[pos]
    return out

def corrupt(request, response):
    if request["op"] != "open" or "binary" not in request["input"]:
        return json.dumps(response)
    try:
        data = binascii.unhexlify(request["input"]["binary"])
        end = header_end(data)
    except (IndexError, ValueError):
        return json.dumps(response)
    body = data[end:]
    if "output" in response:
        STATE.setdefault(body, data[:end])
    elif response["error"] == "E_AUTH" and body in STATE and STATE[body] != data[:end]:
        again = dict(request, input=dict(request["input"], binary=(STATE[body] + body).hex()))
        opened = conformance.respond(again, ops)
        if "output" in opened:
            sender_id, content_type, message_id = fields(data[:end])
            opened["output"].update(sender_id=sender_id, content_type=content_type, message_id=message_id)
            response = opened
    return json.dumps(response)
"""


def test_associated_data_ignored_fails(tmp_path: Path, cases: list[dict[str, Any]]) -> None:
    sample = _case_file(cases, "message")
    failed = _failed(_adapter(tmp_path, IGNORE_AAD), sample)
    # Exactly the header-tampering vectors catch it, and each shows the forged field accepted.
    assert {"msg-other-message-id", "msg-other-content-type", "msg-other-sender"} <= set(failed)
    tampering = {c["id"] for c in sample if c.get("reject") == "MR-MSG-TAMPERED"}
    assert set(failed) <= tampering
    assert '"message_id": "msg-0002"' in failed["msg-other-message-id"]


def test_json_equal_is_type_strict() -> None:
    equal = conformance.json_equal
    assert equal({"a": [1, "x", None, True, 1.5]}, {"a": [1, "x", None, True, 1.5]})
    assert not equal(True, 1) and not equal(1, True) and not equal(False, 0)
    assert not equal(2, 2.0) and not equal(2.0, 2)
    assert not equal({"a": 1}, {"a": 1, "b": None}) and not equal({"a": 1, "b": None}, {"a": 1})
    assert not equal([1, 2], [1, 2, 3]) and not equal([1, [True]], [1, [1]])
    assert not equal(None, False) and not equal("1", 1) and not equal({"a": {"b": 0}}, {"a": {"b": False}})
    assert not equal((1,), [1])


def test_the_genuine_reference_adapter_passes_every_vector(cases: list[dict[str, Any]]) -> None:
    command = f"{shlex.quote(sys.executable)} -m domvia_e2ee.cli conformance --serve"
    results = conformance.run_external(command, cases, timeout=600)
    assert [r for r in results if not r.passed] == []
    assert len(results) == len(cases)


JS_ADAPTER = Path(__file__).resolve().parents[1] / "interop" / "js" / "adapter.mjs"


@pytest.mark.skipif(shutil.which("node") is None or not (JS_ADAPTER.parent / "node_modules").is_dir(),
                    reason="node or interop/js/node_modules is missing")
def test_the_js_adapter_passes_every_vector_under_the_strict_rules(cases: list[dict[str, Any]]) -> None:
    results = conformance.run_external(f"node {shlex.quote(str(JS_ADAPTER))}", cases, timeout=600)
    assert [r for r in results if not r.passed] == []
    assert len(results) == len(cases)
