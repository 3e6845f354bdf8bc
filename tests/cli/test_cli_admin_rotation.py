"""`keyring accept --admin-rotation`: the room is marked, shown, kept, and admins still rotate it.
(That a member who is no admin is then refused is tested on the library in tests/test_authority.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .helpers import base_env


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "domvia_e2ee.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False, env=base_env())


def test_admin_rotation_is_kept_and_admin_rotations_still_pass(tmp_path: Path) -> None:
    for name in ("alice", "bob"):
        made = run("identity", "new", "--id", name, "-o", f"{name}.id", "--public-out", f"{name}.pub", cwd=tmp_path)
        assert made.returncode == 0, made.stderr
    created = run("room", "create", "-I", "alice.id", "--state", "a.state", "--room", "room-9", "--member", "bob.pub",
                  "--bundle-out", "e1.bin", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    accepted = run("keyring", "accept", "-I", "bob.id", "--admin", "alice.pub", "--admin-rotation", "e1.bin",
                   cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    shown = json.loads(run("keyring", "show", "-I", "bob.id", "--json", cwd=tmp_path).stdout)
    assert shown["rooms"][0]["admin_rotation"] is True
    assert "only admins rotate" in run("keyring", "show", "-I", "bob.id", cwd=tmp_path).stdout
    rotated = run("room", "rotate", "-I", "alice.id", "--state", "a.state", "--bundle-out", "e2.bin", cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    again = run("keyring", "accept", "-I", "bob.id", "e2.bin", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
