"""Ctrl-C and SIGTERM: exit 130 or 143, no traceback, no temp file or folder left, the old state or the new.

A rotation of a room of about 1,000 members with --slices-dir is interrupted at spread-out moments
(while wrapping keys, while writing slices, around the renames). Whatever the moment, the files load
into the old epoch (byte for byte unchanged, and the message says nothing was changed) or the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domvia_e2ee import Identity

from .helpers import ALICE, STATE, Cli, World, base_env, new_identity
from .test_cli_faults import consistent, files, temps

ROTATE = ["room", "rotate", *ALICE, *STATE, "--slices-dir", "s3", "--bundle-out", "b3.bin"]
MEMBERS = 1000


@pytest.fixture(scope="module")
def big_room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """room-42 at epoch 2 with alice, bob, carol and 1,000 more members."""
    cli = Cli(tmp_path_factory.mktemp("big-room"))
    World.build(cli)
    names = []
    for index in range(MEMBERS):
        name = f"m{index:04d}.pub"
        cli.path(name).write_text(json.dumps(Identity.generate(f"m{index:04d}").public.to_dict()) + "\n")
        names.append(name)
    cli("room", "add", *ALICE, *STATE, *names)
    for name in names:
        cli.path(name).unlink()
    return cli.cwd


def copy_of(room: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(room, target)
    return target


def started(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Waits until the command is importing the library (cryptography's extension is mapped):
    past the interpreter's own start-up, inside the entry point's guard."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            maps = Path(f"/proc/{process.pid}/maps").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return
        if "_rust.abi3" in maps or "_cffi_backend" in maps:
            return
        time.sleep(0.002)


def interrupt(directory: Path, args: list[str], signum: int | None, delay: float) -> tuple[int, str, float]:
    """Runs the command, sends signum `delay` seconds after its start-up; returns status, stderr, duration."""
    process = subprocess.Popen([sys.executable, "-m", "domvia_e2ee.cli", *args], cwd=directory, env=base_env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    started(process)
    begun = time.monotonic()
    if signum is not None:
        time.sleep(delay)
        process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode(), time.monotonic() - begun


def test_interrupting_a_large_rotation_leaves_the_old_state_or_the_new(big_room: Path, tmp_path: Path) -> None:
    before = files(big_room)
    *_, duration = interrupt(copy_of(big_room, tmp_path, "timing"), ROTATE, None, 0)
    # Spread over the run (wrapping keys, writing 1,003 slices, the renames) and a little past its end.
    delays = [duration * share for share in (0.0, 0.2, 0.4, 0.6, 0.75, 0.85, 0.93, 1.0)]
    outcomes = []
    for index, delay in enumerate(delays):
        signum = signal.SIGINT if index % 2 == 0 else signal.SIGTERM
        directory = copy_of(big_room, tmp_path, f"run-{index}")
        code, err, _ = interrupt(directory, ROTATE, signum, delay)
        assert "Traceback" not in err, err
        assert temps(directory) == [], (delay, err)
        epoch, recovered, members = consistent(directory)
        assert len(members) == MEMBERS + 3 and recovered is None
        if code == 0:  # the signal came after the end
            assert epoch == 3
            outcomes.append("done")
            continue
        assert code == (130 if signum == signal.SIGINT else 143), (delay, code, err)
        last = err.splitlines()[-1]
        if epoch == 2:
            assert last == "domvia-e2ee: error: interrupted: nothing was changed", err
            assert files(directory) == before
            assert not (directory / "s3").exists() and not (directory / "b3.bin").exists()
            outcomes.append("old")
        else:
            assert epoch == 3
            assert last.startswith("domvia-e2ee: error: interrupted after ") and "s3" in last, err
            assert len(list((directory / "s3").iterdir())) == MEMBERS + 3
            outcomes.append("new")
    assert "old" in outcomes, outcomes


SIGNAL_AT = """
import os, signal, sys
from domvia_e2ee.storage import atomic

signum, kind, at = getattr(signal, os.environ["SIG"]), os.environ["AT_KIND"], int(os.environ["AT"])
calls = [0]
real = {"write": atomic._write_new, "replace": os.replace}[kind]

def step(*args, **kwargs):
    calls[0] += 1
    if calls[0] == at:
        os.kill(os.getpid(), signum)  # delivered at once, or when the renames stop deferring it
    return real(*args, **kwargs)

if kind == "write":
    atomic._write_new = step
else:
    os.replace = step
from domvia_e2ee.cli import main
main()
"""


def signal_at(directory: Path, signum: str, kind: str, at: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", SIGNAL_AT, *ROTATE], cwd=directory,
                          env=base_env(SIG=signum, AT_KIND=kind, AT=str(at)), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=120, start_new_session=True, check=False)


def test_a_signal_while_writing_slices_changes_nothing(big_room: Path, tmp_path: Path) -> None:
    before = files(big_room)
    for signum, at in (("SIGTERM", 2), ("SIGINT", 500), ("SIGTERM", 1003)):
        directory = copy_of(big_room, tmp_path, f"{signum}-{at}")
        done = signal_at(directory, signum, "write", at)
        assert done.returncode == (143 if signum == "SIGTERM" else 130), done.stderr
        assert done.stderr.decode().splitlines() == ["domvia-e2ee: error: interrupted: nothing was changed"]
        assert temps(directory) == [] and files(directory) == before


def test_a_signal_during_the_renames_waits_for_them_and_says_what_was_written(big_room: Path,
                                                                              tmp_path: Path) -> None:
    directory = copy_of(big_room, tmp_path, "renames")
    done = signal_at(directory, "SIGINT", "replace", 2)  # the key ring's rename: the commit point
    assert done.returncode == 130, done.stderr
    assert done.stderr.decode().splitlines() == [
        "domvia-e2ee: error: interrupted after room.state, alice.keyring, b3.bin, s3 were written"]
    assert temps(directory) == [] and consistent(directory)[0] == 3
    assert len(list((directory / "s3").iterdir())) == MEMBERS + 3


def test_interrupting_an_attachment_leaves_both_files_or_neither(cli: Cli) -> None:
    cli.path("big.bin").write_bytes(os.urandom(1 << 20) * 24)
    args = ["attachment", "seal", "-i", "big.bin", "-o", "big.dva", "--reference", "big.ref"]
    *_, duration = interrupt(cli.cwd, args, None, 0)
    interrupted = 0
    for index, share in enumerate((0.0, 0.3, 0.6, 0.9)):
        for name in ("big.dva", "big.ref"):
            cli.path(name).unlink(missing_ok=True)
        signum = signal.SIGINT if index % 2 == 0 else signal.SIGTERM
        code, err, _ = interrupt(cli.cwd, args, signum, duration * share)
        assert "Traceback" not in err and temps(cli.cwd) == [], err
        written = [cli.path(name).exists() for name in ("big.dva", "big.ref")]
        if code == 0:
            assert written == [True, True]
            continue
        interrupted += 1
        assert code == (130 if signum == signal.SIGINT else 143), (code, err)
        if err.splitlines()[-1] == "domvia-e2ee: error: interrupted: nothing was changed":
            assert written == [False, False]
        else:
            assert written == [True, True], err
    assert interrupted >= 2


def test_interrupted_start_up_shows_no_traceback(cli: Cli) -> None:
    new_identity(cli, "bob")
    for index, delay in enumerate([0.0, 0.005, 0.01, 0.02, 0.04, 0.08]):
        signum = signal.SIGINT if index % 2 == 0 else signal.SIGTERM
        code, err, _ = interrupt(cli.cwd, ["identity", "show", "bob.pub"], signum, delay)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        if code != 0:
            assert code == (130 if signum == signal.SIGINT else 143), (delay, code, err)
            assert err.splitlines()[-1] == "domvia-e2ee: error: interrupted: nothing was changed", err


def test_json_reports_an_interruption(cli: Cli) -> None:
    """In process: the handler that the entry point installs turns SIGTERM into the interruption report."""
    script = ("import os, signal, sys\n"
              "import domvia_e2ee.cli.identity_cmd as cmd\n"
              "def hang(args):\n"
              "    os.kill(os.getpid(), signal.SIGTERM)\n"
              "    raise AssertionError('not reached')\n"
              "cmd.identity_show = hang\n"
              "from domvia_e2ee.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", script, "identity", "show", "x", "--json"], cwd=cli.cwd,
                          env=base_env(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 143, done.stderr
    assert b'"code": "E_INTERRUPTED"' in done.stdout and b"Traceback" not in done.stderr


def test_stale_temps_of_an_output_are_removed_by_the_next_run(big_room: Path, tmp_path: Path) -> None:
    directory = copy_of(big_room, tmp_path, "stale")
    stale_dir = directory / ".s3.0123456789ab.tmp"
    stale_dir.mkdir()
    (stale_dir / "m0001.slice").write_bytes(b"half")
    stale_file = directory / ".b3.bin.0123456789ab.tmp"
    stale_file.write_bytes(b"half")
    live_file = directory / ".b3.bin.ba9876543210.tmp"  # another process is writing this one: it holds its lock
    live_file.write_bytes(b"busy")
    old = time.time() - 3600
    for path in (stale_dir, stale_file, live_file):
        os.utime(path, (old, old))
    fd = os.open(live_file, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        Cli(directory)(*ROTATE)
    finally:
        os.close(fd)
    assert temps(directory) == [live_file.name]
    assert len(list((directory / "s3").iterdir())) == MEMBERS + 3


def test_no_lock_file_is_left_for_a_file_that_does_not_exist(cli: Cli) -> None:
    new_identity(cli, "dave")
    cli("seal", "-I", "dave.id", "--room", "room-42", input="hi", expect=1)
    cli("keyring", "show", "-I", "dave.id", expect=1)
    assert sorted(p.name for p in cli.cwd.iterdir()) == ["dave.id", "dave.pub"]


def test_a_file_system_without_flock_still_gets_atomic_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from domvia_e2ee.storage import atomic

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(atomic.fcntl, "flock", no_locks)
    atomic.write_atomic(tmp_path / "out.bin", b"data")
    atomic.StagedDirectory(tmp_path / "dir", {"a": b"1"}).commit()
    assert (tmp_path / "out.bin").read_bytes() == b"data" and (tmp_path / "dir" / "a").read_bytes() == b"1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "out.bin"]


BROKEN_IMPORT = """
import signal, sys
from domvia_e2ee.cli import interrupts

how = sys.argv.pop(1)

class Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "domvia_e2ee.cli.main":
            if how == "interrupted":
                interrupts.received = signal.SIGINT  # as if a Ctrl-C had landed in an extension's init
            raise SystemError("initialization of _rust did not return an extension module")
        return None

sys.meta_path.insert(0, Broken())
from domvia_e2ee.cli import main
sys.exit(main())
"""


def test_a_failed_start_up_shows_no_traceback(cli: Cli) -> None:
    for how, code, last in (("interrupted", 130, "domvia-e2ee: error: interrupted: nothing was changed"),
                            ("broken", 1, "domvia-e2ee: hint: reinstall domvia-e2ee, or rerun with --debug for "
                                          "details")):
        done = subprocess.run([sys.executable, "-c", BROKEN_IMPORT, how, "--version"], cwd=cli.cwd, env=base_env(),
                              capture_output=True, timeout=60, check=False)
        err = done.stderr.decode()
        assert done.returncode == code and "Traceback" not in err and err.splitlines()[-1] == last, err
