"""The terminal is untrusted output: what a member or a file name chooses must not drive it.

A message can carry escape sequences; written raw after the `signed by bob` line, they could erase
that line and forge another, or set the window title. On a terminal they are made visible; through
a pipe the plaintext stays byte-exact.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from domvia_e2ee.cli.terminal import visible, visible_bytes

from .helpers import PASS_ENV, PASSPHRASE, Cli, World, base_env

# Cursor up and erase line, a forged line, set the window title, a right-to-left override, a byte that is not UTF-8.
HOSTILE = (b"\x1b[1A\x1b[2Kdomvia-e2ee: signed by alice (room room-42)\n"
           b"\x1b]0;owned\x07title\r\x9b31m \xe2\x80\xaeevil\xe2\x80\xac \xff\xfe end\n")


def on_terminal(cli: Cli, *args: str) -> tuple[int, bytes]:
    """Runs a command with stdout and stderr on a pseudo-terminal; returns its status and what it showed."""
    primary, secondary = os.openpty()
    try:
        process = subprocess.Popen(cli.command(*args), cwd=cli.cwd, env=base_env(), stdin=subprocess.DEVNULL,
                                   stdout=secondary, stderr=secondary, start_new_session=True)
        os.close(secondary)
        shown = b""
        while True:
            try:
                piece = os.read(primary, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not piece:
                break
            shown += piece
        code = process.wait(timeout=120)
    finally:
        os.close(primary)
    return code, shown


def sealed_by_bob(world: World, plaintext: bytes) -> None:
    world.cli.path("hostile.txt").write_bytes(plaintext)
    world.cli("seal", "-I", "bob.id", "--room", "room-42", "-i", "hostile.txt", "-o", "msg.json")


def test_visible_makes_controls_overrides_and_bad_bytes_visible() -> None:
    assert visible("a\x1b[2Kb") == "a\\x1b[2Kb"
    assert visible("\x07\x7f\x9b\u202e\u2066\u200f") == "\\x07\\x7f\\x9b\\u202e\\u2066\\u200f"
    assert visible("two\nlines\tand\r") == "two\\x0alines\\x09and\\x0d"
    assert visible("two\nlines\tand\r", multiline=True) == "two\nlines\tand\\x0d"
    assert visible_bytes(b"caf\xc3\xa9 \xff") == "caf\u00e9 \\xff"
    assert visible("\ud800") == "\\ud800"
    assert visible("plain text, \u00e9t\u00e9 \u4e2d") == "plain text, \u00e9t\u00e9 \u4e2d"


def test_a_hostile_plaintext_is_neutralised_on_a_terminal(world: World) -> None:
    sealed_by_bob(world, HOSTILE)
    code, shown = on_terminal(world.cli, "open", "-I", "carol.id", "-i", "msg.json")
    assert code == 0, shown
    assert b"\x1b" not in shown and b"\x07" not in shown and b"\x9b" not in shown and b"\xff" not in shown
    assert "\u202e".encode() not in shown
    assert b"\\x1b[1A\\x1b[2Kdomvia-e2ee: signed by alice" in shown
    assert b"\\x1b]0;owned\\x07title\\x0d\\x9b31m \\u202eevil\\u202c \\xff\\xfe end" in shown
    assert shown.count(b"signed by bob") == 1


def test_a_terminal_in_a_narrow_encoding_gets_escapes_not_an_error(world: World) -> None:
    sealed_by_bob(world, "caf\u00e9 \u4e2d\n".encode())
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(world.cli.command("open", "-I", "carol.id", "-i", "msg.json"), cwd=world.cli.cwd,
                              env=base_env(PYTHONIOENCODING="ascii"), stdin=subprocess.DEVNULL, stdout=secondary,
                              stderr=subprocess.PIPE, timeout=120, check=False)
        os.close(secondary)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once drained (or at once, if nothing was written)
            while piece := os.read(primary, 65536):
                shown += piece
    finally:
        os.close(primary)
    assert done.returncode == 0, done.stderr
    assert shown == b"caf\\xe9 \\u4e2d\r\n"


def test_a_hostile_plaintext_is_byte_exact_through_a_pipe(world: World) -> None:
    sealed_by_bob(world, HOSTILE)
    opened = world.cli("open", "-I", "carol.id", "-i", "msg.json")
    assert opened.stdout == HOSTILE
    opened = world.cli("open", "-I", "carol.id", "-i", "msg.json", "--no-replay-check", "-o", "out.txt")
    assert world.cli.path("out.txt").read_bytes() == HOSTILE


def test_json_output_escapes_non_ascii_and_overrides(world: World) -> None:
    sealed_by_bob(world, "caf\u00e9 \u202eevil\n".encode())
    opened = world.cli("open", "-I", "carol.id", "-i", "msg.json", "--json")
    assert opened.stdout.isascii() and b"\\u202e" in opened.stdout
    assert json.loads(opened.stdout)["text"] == "caf\u00e9 \u202eevil\n"


def test_a_hostile_file_name_in_an_error_is_neutralised(cli: Cli, tmp_path: Path) -> None:
    name = "\x1b]0;owned\x07\x1b[2K.json"
    code, shown = on_terminal(cli, "open", "-I", "nobody.id", "-i", name)
    assert code == 1, shown
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert b"\\x1b]0;owned\\x07\\x1b[2K.json" in shown
    failed = cli("open", "-I", "nobody.id", "-i", name, expect=1)  # stderr is a pipe: one line, still visible
    assert "\x1b" not in failed.stderr and failed.lines[0].endswith("\\x1b[2K.json: No such file or directory")


def test_hostile_text_printed_by_any_command_is_neutralised(cli: Cli) -> None:
    code, shown = on_terminal(cli, "identity", "show", "\x1b[31mred.pub")
    assert code == 1 and b"\x1b" not in shown and b"\\x1b[31mred.pub" in shown



def test_the_passphrase_prompt_shows_a_hostile_file_name_visibly(cli: Cli) -> None:
    name = "\x1b]0;owned\x07.id"
    cli("identity", "new", "--id", "alice", "-o", name, "--encrypt", "--kdf-cost", "low", "--passphrase-env", PASS_ENV)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, on a new controlling terminal
        try:
            os.chdir(cli.cwd)
            os.execve(sys.executable, [sys.executable, "-m", "domvia_e2ee.cli", "identity", "show", name], base_env())
        finally:
            os._exit(127)
    seen, deadline = b"", time.monotonic() + 30
    try:
        while not (b"passphrase for" in seen and seen.endswith(b": ")) and time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                seen += os.read(fd, 1024)
        os.write(fd, PASSPHRASE.encode() + b"\n")
        while select.select([fd], [], [], 30)[0]:
            seen += os.read(fd, 1024)
    except OSError:
        pass  # the child closed the terminal
    finally:
        os.close(fd)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    assert b"passphrase for \\x1b]0;owned\\x07.id: " in seen, seen
    assert code == 0 and b"\x1b" not in seen and b"\x07" not in seen, seen
