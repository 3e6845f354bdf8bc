"""Ready for users: --version, python -m domvia_e2ee, --json usage errors, argument order, `open FILE`,
counts in words, and fields named in words."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

from .helpers import Cli, World, base_env, new_identity


def test_version(cli: Cli) -> None:
    shown = cli("--version")
    assert shown.out == f"domvia-e2ee {version('domvia-e2ee')}\n"


def test_python_dash_m_domvia_e2ee(cli: Cli) -> None:
    done = subprocess.run([sys.executable, "-m", "domvia_e2ee", "--version"], cwd=cli.cwd, env=base_env(),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.decode().startswith("domvia-e2ee ")


def test_json_usage_errors_print_one_object(cli: Cli) -> None:
    failed = cli("--json", "seal", "--room", "x", expect=2)
    error = failed.json()["error"]
    assert failed.json()["ok"] is False and error["code"] == "E_USAGE"
    assert "-I/--identity" in error["message"] and error["hint"] == "run 'domvia-e2ee seal --help' for usage"
    after = cli("seal", "--room", "x", "--json", expect=2)
    assert after.json()["error"]["code"] == "E_USAGE"
    unknown = cli("--json", "frobnicate", expect=2)
    assert unknown.json()["error"]["code"] == "E_USAGE"
    assert cli("seal", "--room", "x", expect=2).stdout == b""  # without --json, stdout stays empty


def test_an_unknown_option_is_reported_before_missing_ones(cli: Cli) -> None:
    failed = cli("seal", "--room", "x", "--colour", "red", expect=2)
    assert failed.lines[0] == "domvia-e2ee: error: unrecognized arguments: --colour red", failed.transcript()
    typo = cli("open", "--identiy", "bob.id", expect=2)
    assert typo.lines[0] == "domvia-e2ee: error: unrecognized arguments: --identiy", typo.transcript()


def test_open_takes_the_file_as_an_argument(world: World) -> None:
    cli = world.cli
    cli("seal", "-I", "bob.id", "--room", "room-42", "-o", "msg.json", input="hello")
    assert cli("open", "-I", "carol.id", "msg.json").stdout == b"hello"
    assert cli("open", "-I", "carol.id", "-i", "msg.json", "--no-replay-check").stdout == b"hello"
    both = cli("open", "-I", "carol.id", "msg.json", "-i", "msg.json", expect=2)
    assert both.lines[0] == "domvia-e2ee: error: give the sealed message as FILE or as -i FILE, not both"


def test_public_identity_files_end_with_a_newline(cli: Cli) -> None:
    new_identity(cli, "alice")
    assert cli.path("alice.pub").read_bytes().endswith(b"}\n")
    assert json.loads(cli.path("alice.pub").read_bytes())["id"] == "alice"


def test_counts_are_in_words(cli: Cli) -> None:
    cli.path("one.bin").write_bytes(b"x")
    sealed = cli("attachment", "seal", "-i", "one.bin", "-o", "one.dva", "--reference", "one.ref")
    assert "sealed 1 byte (" in sealed.stderr and "1 bytes" not in sealed.stderr


def test_fields_are_named_in_words(world: World) -> None:
    cli = world.cli
    cli("seal", "-I", "bob.id", "--room", "room-42", "-o", "msg.json", input="hello")
    message = json.loads(cli.path("msg.json").read_bytes())
    cli.path("bad.json").write_text(json.dumps({**message, "r": "no spaces allowed"}))
    failed = cli("open", "-I", "carol.id", "bad.json", expect=1)
    assert failed.lines[0] == ("domvia-e2ee: error: bad.json: cannot open: room id (r): must be 1-128 characters "
                               "of [A-Za-z0-9._:@/+=-]"), failed.transcript()
    as_json = cli("open", "-I", "carol.id", "bad.json", "--json", expect=1)
    assert "room id (r)" in as_json.json()["error"]["message"]
    public = json.loads(cli.path("bob.pub").read_bytes())
    cli.path("odd.pub").write_text(json.dumps({**public, "enc": {**public["enc"], "x": "AAAA"}}))
    odd = cli("identity", "show", "odd.pub", expect=1)
    assert odd.lines[0] == ("domvia-e2ee: error: odd.pub: not a valid public identity: encryption key (enc.x): "
                            "must be 32 bytes, got 3"), odd.transcript()


def test_every_message_field_has_words() -> None:
    from domvia_e2ee.cli.fields import describe
    from domvia_e2ee.message import JSON_FIELDS

    bundle_fields = ("rotator_id", "member_count", "member.wrapped_key", "entry.roster.id", "proof.path", "kem")
    for field in (*JSON_FIELDS, "g", "room_id", "sender_id", "message_id", "key_id", "content_type",
                  *bundle_fields, "x25519", "ed25519", "enc.x", "pq.pub", "kdf.memory_kib"):
        assert describe(field) != field, field
    assert describe("epoch") == "epoch" and describe("no-such-field") == "no-such-field"


def test_bundle_fields_are_named_in_words(world: World) -> None:
    cli = world.cli
    cli.path("bad.bin").write_bytes(cli.path("b1.bin").read_bytes()[:40])
    failed = cli("keyring", "accept", "-I", "bob.id", "bad.bin", expect=1)
    assert failed.lines[0] == "domvia-e2ee: error: bad.bin: not a bundle: key id (key_id): truncated"
