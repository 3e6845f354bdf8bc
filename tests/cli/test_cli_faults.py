"""Failures at every step of a write: injected errors (in process) and SIGKILL (in a subprocess).

Whatever happens, the identity, key ring and room state must load into one consistent epoch,
the old one or the new one; a failure before the key ring is committed must leave every file
byte for byte as it was, and no output may appear half-written.
"""

from __future__ import annotations

import errno
import os
import pty
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domvia_e2ee import Bundle, storage
from domvia_e2ee.storage import atomic
from domvia_e2ee.cli.main import main

from .helpers import ALICE, PASS_ENV, PASSPHRASE, STATE, Cli, World, base_env, new_identity

ROTATION = ["room", "remove", *ALICE, *STATE, "carol", "--bundle-out", "b2.bin", "--slices-dir", "s2"]


def files(directory: Path) -> dict[str, bytes]:
    """Every file but the lock files, which exist to be left behind."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob(".*.tmp"))


def consistent(directory: Path) -> tuple[int, str | None, list[str]]:
    """Loads the three files as a command would; returns the epoch, how it was recovered, the members."""
    owner = storage.load_identity(directory / "alice.id", lambda: PASSPHRASE.encode())
    ring = storage.load_keyring(directory / "alice.keyring", owner)
    state = storage.load_room_state(directory / "room.state", ring)
    assert ring.latest_epoch("room-42") == state.room.epoch
    return state.room.epoch, state.recovered, sorted(state.room.members)


def run_in_process(directory: Path, args: list[str], capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(directory)
    monkeypatch.setenv(PASS_ENV, PASSPHRASE)
    code = main(args)
    return code, capsys.readouterr().err


class Injector:
    """Counts calls of one kind of step and fails the k-th (k=0: count only)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, kind: str, k: int = 0) -> None:
        self.k, self.calls = k, 0
        if kind == "write":
            real_write = atomic._write_new

            def write(path: Path, data: bytes, mode: int) -> None:
                if self._hit():
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
                    os.write(fd, data[: len(data) // 2])  # midway through the file
                    os.close(fd)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                real_write(path, data, mode)
            monkeypatch.setattr(atomic, "_write_new", write)
        else:
            for name in ("replace", "rename", "link"):
                monkeypatch.setattr(os, name, self._renamer(getattr(os, name)))

    def _hit(self) -> bool:
        self.calls += 1
        return self.calls == self.k

    def _renamer(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def rename(source: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            if self._hit():
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return real(source, target, *args, **kwargs)
        return rename


@pytest.fixture
def pristine(tmp_path: Path) -> Path:
    (tmp_path / "pristine").mkdir()
    World.build(Cli(tmp_path / "pristine"))
    return tmp_path / "pristine"


def fresh_copy(pristine: Path, name: str) -> Path:
    target = pristine.parent / name
    shutil.copytree(pristine, target)
    return target


@pytest.mark.parametrize("kind", ["write", "rename"])
def test_an_error_at_every_step_of_a_rotation(kind: str, pristine: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        counter = Injector(patch, kind)
        code, _ = run_in_process(fresh_copy(pristine, "count"), ROTATION, capsys, patch)
    assert code == 0 and counter.calls >= 5
    before = files(pristine)
    for k in range(1, counter.calls + 1):
        directory = fresh_copy(pristine, f"{kind}-{k}")
        with monkeypatch.context() as patch:
            Injector(patch, kind, k)
            code, err = run_in_process(directory, ROTATION, capsys, patch)
        assert code == 1 and ("No space left on device" in err or "Input/output error" in err), err
        assert "Traceback" not in err and temps(directory) == []
        epoch, _, members = consistent(directory)
        if epoch == 1:
            assert files(directory) == before, f"{kind} failure {k} changed files"
            assert members == ["alice", "bob", "carol"]
        else:
            assert "(the change itself is committed)" in err and "room show --bundle-out" in err
            assert members == ["alice", "bob"]
        with monkeypatch.context() as patch:
            assert run_in_process(directory, ["room", "rotate", *ALICE, *STATE], capsys, patch)[0] == 0
        assert consistent(directory)[0] == epoch + 1


@pytest.mark.parametrize("kind", ["write", "rename"])
def test_an_error_while_sealing_leaves_no_output(kind: str, pristine: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    seal = ["seal", "-I", "bob.id", "--room", "room-42", "-i", "plain.txt", "-o", "sealed.json"]
    (pristine / "plain.txt").write_text("hello")
    for k in (1, 2, 3, 4):
        directory = fresh_copy(pristine, f"seal-{kind}-{k}")
        with monkeypatch.context() as patch:
            Injector(patch, kind, k)
            code, err = run_in_process(directory, seal, capsys, patch)
        if code == 0:
            break
        assert temps(directory) == []
        if "(the change itself is committed)" not in err:
            assert files(directory) == files(pristine)
        assert not (directory / "sealed.json").exists()


KILLER = textwrap.dedent("""
    import os, signal, sys
    from domvia_e2ee.storage import atomic
    from domvia_e2ee.cli.main import main

    kind, at = os.environ["KILL_KIND"], int(os.environ["KILL_AT"])
    calls = [0]

    def hit():
        calls[0] += 1
        return calls[0] == at

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if kind == "write":
        real_write = atomic._write_new
        def write(path, data, mode):
            if hit():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
                os.write(fd, data[: len(data) // 2])
                die()
            real_write(path, data, mode)
        atomic._write_new = write
    else:
        def wrap(real):
            def rename(*args, **kwargs):
                if kind == "before-rename" and hit():
                    die()
                result = real(*args, **kwargs)
                if kind == "after-rename" and hit():
                    die()
                return result
            return rename
        for name in ("replace", "rename", "link"):
            setattr(os, name, wrap(getattr(os, name)))
    sys.exit(main(sys.argv[1:]))
""")


def kill_during(directory: Path, kind: str, at: int, args: list[str] = ROTATION) -> subprocess.CompletedProcess[bytes]:
    env = base_env(KILL_KIND=kind, KILL_AT=str(at))
    return subprocess.run([sys.executable, "-c", KILLER, *args], cwd=directory, env=env, capture_output=True,
                          timeout=120, start_new_session=True, check=False)


def check_after_crash(directory: Path, before: dict[str, bytes], capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> int:
    epoch, recovered, members = consistent(directory)
    if epoch == 1:
        assert members == ["alice", "bob", "carol"]
        assert files(directory)["alice.keyring"] == before["alice.keyring"]
        assert recovered in (None, "rolled back")
    else:
        assert members == ["alice", "bob"]
        assert recovered in (None, "rolled forward")
    for output in ("b2.bin",):  # an output is either absent or whole
        if (directory / output).exists():
            assert Bundle.from_bytes((directory / output).read_bytes()).header.epoch == 2
    with monkeypatch.context() as patch:
        code, _ = run_in_process(directory, ["room", "show", *ALICE, *STATE, "--bundle-out", "again.bin"], capsys,
                                 patch)
        assert code == 0
        assert Bundle.from_bytes((directory / "again.bin").read_bytes()).header.epoch == epoch
        assert run_in_process(directory, ["room", "rotate", *ALICE, *STATE], capsys, patch)[0] == 0
    assert consistent(directory) == (epoch + 1, None, members)
    assert [t for t in temps(directory) if "room.state" in t or "keyring" in t] == []  # cleaned under the lock
    return epoch


def test_sigkill_at_every_step_of_a_rotation(pristine: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    before = files(pristine)
    outcomes = {}
    for kind in ("write", "before-rename", "after-rename"):
        for at in range(1, 20):
            directory = fresh_copy(pristine, f"kill-{kind}-{at}")
            done = kill_during(directory, kind, at)
            if done.returncode == 0:
                break
            assert done.returncode == -signal.SIGKILL, done.stderr
            outcomes[(kind, at)] = check_after_crash(directory, before, capsys, monkeypatch)
    # Both outcomes happen: early kills roll back, late ones roll forward.
    assert set(outcomes.values()) == {1, 2}
    assert len(outcomes) >= 15


def test_sigkill_during_a_large_rotation(tmp_path: Path) -> None:
    """Kills `room remove` over 400 members once its progress bar shows it is wrapping keys, then later."""
    (tmp_path / "big").mkdir()
    cli = Cli(tmp_path / "big")
    World.build(cli)
    cli("room", "add", *ALICE, *STATE, *many_members(cli.cwd, 400))
    epochs = []
    for index, delay in enumerate((0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4)):
        directory = fresh_copy(cli.cwd, f"random-{index}")
        primary, secondary = pty.openpty()
        process = subprocess.Popen([sys.executable, "-m", "domvia_e2ee.cli", *ROTATION], cwd=directory,
                                   env=base_env(), stdout=subprocess.DEVNULL, stderr=secondary,
                                   start_new_session=True)
        os.close(secondary)
        try:
            assert b"wrapping room keys" in os.read(primary, 4096)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            os.close(primary)
        epoch, _, members = consistent(directory)
        assert epoch in (2, 3) and ("carol" in members) == (epoch == 2)
        epochs.append(epoch)
    assert epochs[0] == 2  # killed while wrapping: nothing was committed


def many_members(directory: Path, count: int) -> list[str]:
    from domvia_e2ee import Identity

    names = []
    for index in range(count):
        name = f"m{index:04d}.pub"
        (directory / name).write_text(Identity.generate(f"m{index:04d}").public.to_json())
        names.append(name)
    return names


def test_an_interrupted_room_create_can_be_run_again(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    new_identity(cli, "alice", encrypted=True)
    new_identity(cli, "bob")
    create = ["room", "create", *ALICE, *STATE, "--room", "r", "--member", "bob.pub", "--bundle-out", "b1.bin"]
    done = kill_during(tmp_path, "after-rename", 1, create)  # the pending state exists, the key ring does not
    assert done.returncode == -signal.SIGKILL
    assert not (tmp_path / "b1.bin").exists()
    never = cli("room", "show", *ALICE, *STATE, expect=1)
    assert never.lines[0] == "domvia-e2ee: error: alice.keyring: does not exist"
    cli("keyring", "show", *ALICE, expect=1)
    cli(*create)
    assert cli("room", "show", *ALICE, *STATE, "--json").json()["epoch"] == 1
    second = ["room", "create", *ALICE, "--state", "r2.state", "--room", "r2"]
    assert kill_during(tmp_path, "after-rename", 1, second).returncode == -signal.SIGKILL
    never = cli("room", "show", *ALICE, "--state", "r2.state", expect=1)
    assert never.lines == ["domvia-e2ee: error: r2.state: the room was never created: its creation was interrupted",
                           "domvia-e2ee: hint: create the room again with the same state file; it replaces this one"]
    cli(*second)
    assert cli("room", "show", *ALICE, "--state", "r2.state", "--json").json()["epoch"] == 1
