"""`domvia-e2ee attachment seal|open` in a subprocess: files, pipes, atomic output, errors, progress."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pty
import stat
import subprocess
from pathlib import Path

import pytest
from cli.helpers import Cli, base_env

DATA = hashlib.shake_256(b"attachment cli").digest(300_000)  # 5 chunks of 64 KiB


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    (tmp_path / "photo.png").write_bytes(DATA)
    return Cli(tmp_path)


def seal(cli: Cli, *extra: str) -> None:
    cli("attachment", "seal", "-i", "photo.png", "-o", "photo.dva", "--reference", "photo.ref", *extra)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_seal_then_open_files(cli: Cli) -> None:
    seal(cli)
    reference = json.loads(cli.path("photo.ref").read_bytes())
    assert reference["content_type"] == "image/png" and reference["size"] == len(DATA)
    assert mode(cli.path("photo.ref")) == 0o600
    assert reference["root"] != "" and DATA not in cli.path("photo.dva").read_bytes()
    done = cli("attachment", "open", "-i", "photo.dva", "-o", "out.png", "--reference", "photo.ref", "--json")
    assert done.json() == {"ok": True, "output": "out.png", "size": len(DATA), "content_type": "image/png",
                           "root": base64.urlsafe_b64decode(reference["root"] + "=").hex()}
    assert cli.path("out.png").read_bytes() == DATA and mode(cli.path("out.png")) == 0o600


def test_pipes_in_and_out_with_xchacha(cli: Cli) -> None:
    blob = cli("attachment", "seal", "--reference", "p.ref", "--suite", "XC20P", "--content-type", "video/mp4",
               input=DATA).stdout
    assert json.loads(cli.path("p.ref").read_bytes())["suite"] == "XC20P"
    assert cli("attachment", "open", "--reference", "p.ref", input=blob).stdout == DATA


def test_json_seal_report_never_shows_the_key(cli: Cli) -> None:
    done = cli("attachment", "seal", "-i", "photo.png", "-o", "photo.dva", "--reference", "photo.ref", "--json")
    report = done.json()
    key = json.loads(cli.path("photo.ref").read_bytes())["key"]
    assert report["ok"] and report["size"] == len(DATA) and report["chunk_size"] == 65536
    assert key not in done.out and key not in done.stderr


@pytest.mark.parametrize("damage", ["truncate-boundary", "truncate-mid", "append", "flip", "swap"])
def test_a_bad_blob_leaves_no_output_file_and_no_temp_file(cli: Cli, damage: str) -> None:
    seal(cli)
    blob = cli.path("photo.dva").read_bytes()
    bad = {"truncate-boundary": blob[: 70 + 3 * 65552], "truncate-mid": blob[:-100], "append": blob + b"\x00",
           "flip": blob[:1000] + bytes((blob[1000] ^ 1,)) + blob[1001:], "swap": b""}[damage]
    if damage == "swap":
        cli("attachment", "seal", "-i", "photo.png", "-o", "other.dva", "--reference", "other.ref")
        bad = cli.path("other.dva").read_bytes()
    cli.path("bad.dva").write_bytes(bad)
    cli.path("keep.png").write_bytes(b"previous content")
    before = sorted(os.listdir(cli.cwd))
    for output in ("new.png", "keep.png"):
        failed = cli("attachment", "open", "-i", "bad.dva", "-o", output, "--reference", "photo.ref", expect=1)
        assert failed.lines[0] == "domvia-e2ee: error: bad.dva: does not match the reference"
        assert failed.lines[1].startswith("domvia-e2ee: hint: ")
    assert sorted(os.listdir(cli.cwd)) == before
    assert cli.path("keep.png").read_bytes() == b"previous content"


def test_a_pipe_gets_only_verified_chunks_and_exit_status_1(cli: Cli) -> None:
    seal(cli)
    blob = cli.path("photo.dva").read_bytes()
    failed = cli("attachment", "open", "--reference", "photo.ref", "--json", "-o", "-", input=blob[:-1], expect=2)
    assert "--json" in failed.stderr
    failed = cli("attachment", "open", "--reference", "photo.ref", input=blob[:-1], expect=1)
    assert DATA.startswith(failed.stdout) and len(failed.stdout) == 4 * 65536  # the final chunk is never released


def test_the_reference_is_never_overwritten(cli: Cli) -> None:
    seal(cli)
    original = cli.path("photo.ref").read_bytes()
    failed = cli("attachment", "seal", "-i", "photo.png", "-o", "again.dva", "--reference", "photo.ref", expect=1)
    assert "already exists" in failed.lines[0]
    assert cli.path("photo.ref").read_bytes() == original and not cli.path("again.dva").exists()


@pytest.mark.parametrize("args", [
    ("--chunk-size", "100"), ("--chunk-size", "1024"), ("--chunk-size", "2097152"), ("--content-type", "a b"),
    ("--suite", "A128GCM"),
])
def test_usage_errors_exit_2_and_write_nothing(cli: Cli, args: tuple[str, ...]) -> None:
    failed = cli("attachment", "seal", "-i", "photo.png", "-o", "x.dva", "--reference", "x.ref", *args, expect=2)
    assert failed.lines[0].startswith("domvia-e2ee: error: ")
    assert not cli.path("x.dva").exists() and not cli.path("x.ref").exists()


def test_a_malformed_reference_is_an_error_naming_the_file_and_field(cli: Cli) -> None:
    seal(cli)
    reference = json.loads(cli.path("photo.ref").read_bytes())
    cli.path("bad.ref").write_text(json.dumps({**reference, "chunk_size": 100}))
    failed = cli("attachment", "open", "-i", "photo.dva", "-o", "out.png", "--reference", "bad.ref", "--json",
                 expect=1)
    assert failed.json()["error"]["code"] == "E_FORMAT"
    assert failed.lines[0].startswith("domvia-e2ee: error: bad.ref: not an attachment reference: chunk_size")
    assert not cli.path("out.png").exists()


def test_progress_is_drawn_on_a_terminal_only(cli: Cli) -> None:
    cli.path("big.bin").write_bytes(DATA * 8)
    quiet = cli("attachment", "seal", "-i", "big.bin", "-o", "big.dva", "--reference", "big.ref")
    assert "%" not in quiet.stderr
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(cli.command("attachment", "open", "-i", "big.dva", "-o", "big.out", "--reference",
                                          "big.ref"), cwd=cli.cwd, env=base_env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=secondary, timeout=300, check=False)
        os.close(secondary)
        shown = b""
        while True:
            try:
                piece = os.read(primary, 65536)
            except OSError:  # EIO once the terminal's other side is closed and drained
                break
            if not piece:
                break
            shown += piece
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert b"opening" in shown and b"(100%)" in shown
