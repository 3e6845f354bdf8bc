"""Runs `python -m domvia_e2ee.cli` in a subprocess, in a temp directory, and records the transcript.

The subprocess starts in a new session, so it has no controlling terminal: a passphrase
prompt fails instead of waiting for a person.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"
PASS_ENV = "DOMVIA_TEST_PASSPHRASE"
ALICE = ["-I", "alice.id", "--passphrase-env", PASS_ENV]
STATE = ["--state", "room.state"]


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env[PASS_ENV] = PASSPHRASE
    env.update(extra)
    return env


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode()

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    def transcript(self) -> str:
        return f"$ domvia-e2ee {' '.join(self.args)}\n{self.out}{self.stderr}[exit {self.code}]"


class Cli:
    """cli(*args, expect=0) runs one command; expect=None skips the exit-code check."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.history: list[Result] = []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "domvia_e2ee.cli", *args]

    def __call__(self, *args: str, expect: int | None = 0,
                 input: bytes | str | None = None,  # noqa: A002 - the name subprocess.run uses
                 env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()) -> Result:
        data = input.encode() if isinstance(input, str) else input
        done = subprocess.run(self.command(*args), cwd=self.cwd, env=env or base_env(), input=data,
                              stdin=None if data is not None else subprocess.DEVNULL, capture_output=True,
                              timeout=300, start_new_session=True, pass_fds=pass_fds, check=False)
        result = Result(args, done.returncode, done.stdout, done.stderr.decode())
        self.history.append(result)
        assert "Traceback" not in result.stderr, result.transcript()
        if expect is not None:
            assert result.code == expect, result.transcript()
        return result

    def path(self, name: str) -> Path:
        return self.cwd / name

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the directory, by relative path: compare before and after a failure."""
        return {str(p.relative_to(self.cwd)): p.read_bytes() for p in sorted(self.cwd.rglob("*")) if p.is_file()}


def new_identity(cli: Cli, name: str, *, encrypted: bool = False) -> Result:
    args = ["identity", "new", "--id", name, "-o", f"{name}.id", "--public-out", f"{name}.pub"]
    if encrypted:
        args += ["--encrypt", "--kdf-cost", "low", "--passphrase-env", PASS_ENV]
    return cli(*args)


@dataclass
class World:
    cli: Cli

    @classmethod
    def build(cls, cli: Cli) -> World:
        new_identity(cli, "alice", encrypted=True)
        for name in ("bob", "carol"):
            new_identity(cli, name)
        cli("room", "create", *ALICE, *STATE, "--room", "room-42", "--member", "bob.pub", "--member", "carol.pub",
            "--bundle-out", "b1.bin")
        for name in ("bob", "carol"):
            cli("keyring", "accept", "-I", f"{name}.id", "--room", "room-42", "--admin", "alice.pub", "--known", "bob.pub",
                "--known", "carol.pub", "b1.bin")
        return cls(cli)

    def room_show(self) -> Any:
        return self.cli("room", "show", *ALICE, *STATE, "--json").json()


def keyring_of(cli: Cli, name: str, passphrase: str | None = None) -> Any:
    """The key ring file of name, loaded in process: for building what a CLI user cannot (another admin's
    or a removed admin's own rotation, which needs no state file in the library)."""
    from domvia_e2ee import storage

    owner = storage.load_identity(cli.path(f"{name}.id"), (lambda: passphrase.encode()) if passphrase else None)
    return storage.load_keyring(cli.path(f"{name}.keyring"), owner)


def rotation_by(cli: Cli, name: str, room_id: str, out: str) -> Any:
    """name, an admin who holds room_id, rotates it from its key ring (as its own client would) and writes
    the bundle to out. Its key ring file is not changed: only the bundle leaves this function."""
    from domvia_e2ee import Room

    rotation = Room(keyring_of(cli, name), room_id).rotate()
    cli.path(out).write_bytes(rotation.bundle.to_bytes())
    return rotation.bundle


def unauthorised_rotation_by(cli: Cli, name: str, room_id: str, out: str) -> Any:
    """name signs the next epoch on top of the newest epoch its key ring holds, whether or not it may:
    what a removed admin's modified client could publish. Room refuses to build it, so it is built here."""
    import time

    from domvia_e2ee import RoomKey
    from domvia_e2ee.group.bundle import Plan, build_bundle

    ring = keyring_of(cli, name)
    latest = ring.latest_epoch(room_id)
    record = ring.record(room_id, latest)
    header = record.header
    key = RoomKey.generate(room_id=room_id, epoch=latest + 1, suite=header.suite)
    members = [entry.identity() for entry in record.roster.values()]
    bundle = build_bundle(ring.owner, key, members, kem=header.kem, issued_at=int(time.time()),
                          plan=Plan(header.epoch_hash(), header.policy, header.admins))
    cli.path(out).write_bytes(bundle.to_bytes())
    return bundle


def announcement_of(cli: Cli, bundle_file: str, out: str) -> Any:
    """The announcement (signed header and rotator proof) of a bundle: what the server shows non-members."""
    from domvia_e2ee import Bundle

    announcement = Bundle.from_bytes(cli.path(bundle_file).read_bytes()).announcement()
    cli.path(out).write_bytes(announcement.to_bytes())
    return announcement
