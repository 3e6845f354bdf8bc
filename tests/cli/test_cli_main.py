"""Help, exit codes, message format, --json errors, unexpected errors, progress, concurrency, demo."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domvia_e2ee.cli import identity_cmd
from domvia_e2ee.cli.main import COMMAND_MODULES, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main

from .helpers import ALICE, STATE, Cli, World, base_env, new_identity


def test_help_documents_commands_and_exit_codes(cli: Cli) -> None:
    out = cli("--help").out
    for command in ("identity", "room", "keyring", "seal", "open", "demo"):
        assert re.search(rf"^    {command}\b", out, re.M), command
    assert "exit status:\n  0  success\n  1  failure" in out and "2  usage error" in out
    for leaf in (["identity", "new"], ["identity", "show"], ["room", "create"], ["room", "add"], ["room", "remove"],
                 ["room", "rotate"], ["room", "show"], ["room", "admins"], ["room", "policy"], ["keyring", "accept"],
                 ["keyring", "show"], ["keyring", "forks"], ["seal"],
                 ["open"], ["demo"]):
        text = cli(*leaf, "--help").out
        assert "--json" in text and "--debug" in text, leaf


def test_usage_errors_exit_2_in_the_tool_format(cli: Cli) -> None:
    missing = cli("identity", "new", "--id", "a", expect=2)
    assert missing.lines == ["domvia-e2ee: error: the following arguments are required: -o/--output",
                             "domvia-e2ee: hint: run 'domvia-e2ee identity new --help' for usage"]
    assert cli("frobnicate", expect=2).lines[0].startswith("domvia-e2ee: error: argument COMMAND: invalid choice")
    assert cli(expect=2).lines[0] == "domvia-e2ee: error: the following arguments are required: COMMAND"
    bad_age = cli("room", "create", "-I", "x", "--state", "s", "--room", "r", "--max-age", "soon", expect=2)
    assert bad_age.lines[0] == ("domvia-e2ee: error: argument --max-age: not a duration: 'soon' "
                                "(examples: 3600, 90m, 12h, 7d)")


def test_json_flag_before_or_after_the_command(cli: Cli) -> None:
    new_identity(cli, "bob")
    assert cli("--json", "identity", "show", "bob.pub").json()["id"] == "bob"
    assert cli("identity", "show", "bob.pub", "--json").json()["id"] == "bob"
    failed = cli("--json", "identity", "show", "nope.pub", expect=1).json()
    assert failed == {"ok": False, "error": {"code": "E_IO", "hint": None,
                                             "message": "nope.pub: No such file or directory"}}


def test_unexpected_errors_are_one_line_with_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("wires crossed\nsecond line")

    monkeypatch.setattr(identity_cmd, "identity_show", broken)
    assert main(["identity", "show", "x"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "domvia-e2ee: error: unexpected RuntimeError: wires crossed",
        "domvia-e2ee: hint: rerun with --debug for details, and report it if it persists"]
    with pytest.raises(RuntimeError):
        main(["identity", "show", "x", "--debug"])


def test_registry_lists_importable_modules() -> None:
    for name in COMMAND_MODULES:
        module = __import__(f"domvia_e2ee.cli.{name}", fromlist=["register"])
        assert callable(module.register)
    assert (EXIT_OK, EXIT_FAILURE, EXIT_USAGE) == (0, 1, 2)


def test_progress_is_drawn_on_a_terminal_only(cli: Cli) -> None:
    new_identity(cli, "alice")
    from domvia_e2ee import Identity

    members = []
    for index in range(70):
        name = f"m{index}.pub"
        cli.path(name).write_text(Identity.generate(f"m{index}").public.to_json())
        members += ["--member", name]
    primary, secondary = pty.openpty()
    process = subprocess.run(cli.command("room", "create", "-I", "alice.id", *STATE, "--room", "r", *members),
                             cwd=cli.cwd, env=base_env(), stdout=subprocess.PIPE, stderr=secondary, check=False,
                             start_new_session=True, timeout=120)
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(primary)
    assert process.returncode == 0
    assert re.search(rb"\rdomvia-e2ee: wrapping room keys 71/71 \(100%\)\r?\n", drawn), drawn
    quiet = cli("room", "rotate", "-I", "alice.id", *STATE, "--slices-dir", "slices")
    assert "wrapping" not in quiet.stderr
    assert len(os.listdir(cli.path("slices"))) == 71  # written by parallel writers


def test_binary_output_to_a_terminal_is_refused(world: World) -> None:
    primary, secondary = pty.openpty()
    process = subprocess.run(world.cli.command("seal", "-I", "bob.id", "--room", "room-42", "--format", "binary"),
                             cwd=world.cli.cwd, env=base_env(), input=b"x", stdout=secondary,
                             stderr=subprocess.PIPE, check=False, start_new_session=True, timeout=60)
    os.close(secondary)
    os.close(primary)
    assert process.returncode == 2
    assert process.stderr.decode().splitlines() == [
        "domvia-e2ee: error: refusing to write binary output to a terminal",
        "domvia-e2ee: hint: pass -o FILE, or redirect stdout"]


def test_concurrent_rotations_are_serialized(world: World) -> None:
    cli = world.cli
    args = cli.command("room", "rotate", *ALICE, *STATE, "--json")
    processes = [subprocess.Popen(args, cwd=cli.cwd, env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], results
    assert sorted(json.loads(out)["epoch"] for out, _ in results) == [2, 3, 4]
    shown = world.room_show()
    assert shown["epoch"] == 4
    epochs = cli("keyring", "show", *ALICE, "--json").json()["rooms"][0]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]


def test_demo_shape(cli: Cli) -> None:
    text = cli("demo").out
    steps = re.findall(r"^\d+\. .*$", text, re.M)
    assert steps == ["1. alice creates the room with bob and carol: epoch 1", "2. bob writes to the room",
                     "3. the relay changes the message id of bob's message",
                     "4. carol, about to be removed, signs an epoch 2 of her own that keeps her in",
                     "5. alice removes carol: the room rotates to epoch 2",
                     "6. dave joins: the room rotates to epoch 3; history is not shared", "7. dave writes to the room",
                     "8. the relay delivers dave's message to bob a second time",
                     "9. erin joins with her phone and laptop: one user, one safety number",
                     "10. erin's phone backs up every key it accepted",
                     "11. erin adds a tablet; her other devices are offline: the tablet restores from the backup",
                     "12. erin loses her phone: it leaves her list and the room rotates", "13. what the relay holds"]
    masked = re.sub(r"[A-Za-z0-9_-]{12,}…", "…", re.sub(r"\d{5}( \d{5}){5}", "SAFETY", text))
    for line in ("   alice's client rejects the bundle signed by carol: E_UNAUTHORIZED",
                 "   bob's client rejects the bundle signed by carol: E_UNAUTHORIZED",
                 "   carol accepts the announcement of epoch 2",
                 "| carol  cannot: E_NOT_MEMBER", "| dave   cannot: E_UNKNOWN_KEY", "| alice  cannot: E_AUTH",
                 "| bob    cannot: E_REPLAY", "| bob    reads 'carol is gone; the new budget is 40k'",
                 "| erin/tablet cannot: E_DEVICE_TOO_NEW", "| erin/phone cannot: E_NOT_MEMBER"):
        assert line in masked, line
    assert "hi all, the launch is on Friday" not in "".join(
        line.split("|")[0] for line in text.splitlines())  # the relay column never holds plaintext
    demo = cli("demo", "--json").json()
    assert demo["ok"] is True and len(demo["steps"]) == 13


def test_entry_point_module(cli: Cli) -> None:
    done = subprocess.run([sys.executable, "-c", "import domvia_e2ee.cli as c; print(c.main(['--help']))"],
                          env=base_env(), capture_output=True, check=False, timeout=60)
    assert done.stdout.decode().rstrip().endswith("0")
