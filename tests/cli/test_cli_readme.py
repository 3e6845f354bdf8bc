"""The README's command-line walkthrough runs as written (alice's passphrase from the environment
instead of the terminal, and the cheapest KDF cost), and says what it claims to."""

from __future__ import annotations

import re
import subprocess
import sys

from .helpers import PASS_ENV, REPO, Cli, base_env

WRAPPER = f"""
set -euo pipefail
domvia-e2ee() {{
    local extra=()
    for arg in "$@"; do
        case "$arg" in
            alice.id) extra=(--passphrase-env {PASS_ENV});;
            --encrypt) extra=(--kdf-cost low --passphrase-env {PASS_ENV});;
        esac
    done
    "{sys.executable}" -m domvia_e2ee.cli "$@" "${{extra[@]}}"
}}
"""


def walkthrough() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("<!-- cli:start -->", 1)[1].split("<!-- cli:end -->", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)[:1]
    return block


def test_the_readme_walkthrough_runs(cli: Cli) -> None:
    script = walkthrough()
    assert "--admin-rotation" not in script
    done = subprocess.run(["bash", "-c", WRAPPER + script], cwd=cli.cwd, env=base_env(), capture_output=True,
                          text=True, timeout=300, start_new_session=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "the launch is on Friday" in out
    assert "accepted link for room room-42: epoch 3" in out
    assert "admins:       alice, bob" in out and "policy:       rotate after 500 messages or 1d" in out
    assert "members:      2 (alice, bob)" in out
    assert out.rstrip().endswith("no fork evidence")
    assert "signed by bob (room room-42, epoch 1" in done.stderr
