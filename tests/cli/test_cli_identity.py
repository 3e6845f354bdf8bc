"""identity new / identity show, and every way an identity file can be refused."""

from __future__ import annotations

import json
import os
import pty
import stat
import sys

from domvia_e2ee import PublicIdentity
from domvia_e2ee.storage import COST_LEVELS

from .helpers import PASS_ENV, PASSPHRASE, Cli, base_env, new_identity


def mode(path: os.PathLike[str]) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_prints_the_public_identity_and_writes_0600(cli: Cli) -> None:
    result = new_identity(cli, "alice")
    public = PublicIdentity.from_json(result.stdout)
    assert public.participant_id == "alice"
    assert PublicIdentity.from_json(cli.path("alice.pub").read_bytes()) == public
    assert mode(cli.path("alice.id")) == 0o600
    assert result.lines == [f"domvia-e2ee: created alice.id (mode 0600, not encrypted); "
                            f"safety number {public.safety_number}"]
    assert b"x25519" in cli.path("alice.id").read_bytes()  # plaintext private keys, as asked


def test_new_never_overwrites(cli: Cli) -> None:
    new_identity(cli, "alice")
    before = cli.snapshot()
    result = cli("identity", "new", "--id", "alice", "-o", "alice.id", expect=1)
    assert result.lines == ["domvia-e2ee: error: alice.id: already exists; refusing to overwrite it",
                            "domvia-e2ee: hint: choose another file name, or move the existing file away first"]
    assert cli.snapshot() == before


def test_new_refuses_an_existing_public_out_before_writing_anything(cli: Cli) -> None:
    cli.path("taken.pub").write_text("mine")
    cli("identity", "new", "--id", "alice", "-o", "alice.id", "--public-out", "taken.pub", expect=1)
    assert not cli.path("alice.id").exists()
    assert cli.path("taken.pub").read_text() == "mine"


def test_new_encrypted_from_env_hides_the_keys(cli: Cli) -> None:
    result = new_identity(cli, "alice", encrypted=True)
    data = json.loads(cli.path("alice.id").read_bytes())
    assert set(data) == {"file", "v", "kdf", "salt", "nonce", "ciphertext"}
    low = COST_LEVELS["low"]
    assert data["kdf"] == {"name": "argon2id", "memory_kib": low.memory_kib, "iterations": low.iterations,
                           "lanes": low.lanes}
    assert b"alice" not in cli.path("alice.id").read_bytes()
    assert "encrypted, Argon2id low" in result.stderr
    shown = cli("identity", "show", "alice.id", "--passphrase-env", PASS_ENV, "--json").json()
    assert shown["kind"] == "private, passphrase-encrypted"
    assert shown["public"] == json.loads(result.stdout)


def test_new_encrypted_from_a_file_descriptor(cli: Cli) -> None:
    read, write = os.pipe()
    os.write(write, PASSPHRASE.encode() + b"\nignored second line\n")
    os.close(write)
    try:
        cli("identity", "new", "--id", "alice", "-o", "alice.id", "--encrypt", "--kdf-cost", "low",
            "--passphrase-fd", str(read), pass_fds=(read,))
    finally:
        os.close(read)
    shown = cli("identity", "show", "alice.id", "--passphrase-env", PASS_ENV, "--json").json()
    assert shown["id"] == "alice"


def test_passphrase_is_never_taken_from_argv(cli: Cli) -> None:
    result = cli("identity", "new", "--id", "alice", "-o", "alice.id", "--encrypt", "--passphrase", "x", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: unrecognized arguments: --passphrase x"
    assert not cli.path("alice.id").exists()


def test_passphrase_without_a_terminal_or_source_is_a_usage_error(cli: Cli) -> None:
    result = cli("identity", "new", "--id", "alice", "-o", "alice.id", "--encrypt", expect=2)
    assert result.lines == ["domvia-e2ee: error: alice.id needs a passphrase and there is no terminal to ask for it",
                            "domvia-e2ee: hint: pass --passphrase-fd N or --passphrase-env NAME"]
    assert not cli.path("alice.id").exists()


def test_empty_or_missing_passphrase_variable(cli: Cli) -> None:
    empty = cli("identity", "new", "--id", "a", "-o", "a.id", "--encrypt", "--passphrase-env", "EMPTY", expect=2,
                env=base_env(EMPTY=""))
    assert empty.lines[0] == "domvia-e2ee: error: the passphrase is empty"
    missing = cli("identity", "new", "--id", "a", "-o", "a.id", "--encrypt", "--passphrase-env", "NOPE_X", expect=2)
    assert missing.lines[0] == "domvia-e2ee: error: environment variable NOPE_X is not set"
    assert not cli.path("a.id").exists()


def test_passphrase_options_need_encrypt(cli: Cli) -> None:
    result = cli("identity", "new", "--id", "a", "-o", "a.id", "--kdf-cost", "low", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: --passphrase-fd, --passphrase-env and --kdf-cost need --encrypt"


def test_bad_id_is_a_usage_error(cli: Cli) -> None:
    result = cli("identity", "new", "--id", "al ice", "-o", "a.id", expect=2)
    assert result.lines[0] == "domvia-e2ee: error: --id: must be 1-128 characters of [A-Za-z0-9._:@/+=-]"


def test_show_text_and_json(cli: Cli) -> None:
    public = PublicIdentity.from_json(new_identity(cli, "bob", encrypted=False).stdout)
    text = cli("identity", "show", "bob.id").out.splitlines()
    assert text[:5] == ["id:            bob", f"fingerprint:   {public.fingerprint.hex()}",
                        f"safety number: {public.safety_number}", "post-quantum:  no", "file:          bob.id (private)"]
    assert PublicIdentity.from_json(text[-1]) == public
    shown = cli("identity", "show", "bob.pub", "--json").json()
    assert shown == {"ok": True, "id": "bob", "fingerprint": public.fingerprint.hex(), "file": "bob.pub",
                     "kind": "public identity", "post_quantum": False, "public": public.to_dict(),
                     "safety_number": public.safety_number}


def test_post_quantum_identity(cli: Cli) -> None:
    cli("identity", "new", "--id", "pq", "-o", "pq.id", "--post-quantum")
    assert cli("identity", "show", "pq.id", "--json").json()["post_quantum"] is True


def test_wrong_passphrase_names_the_file_and_changes_nothing(cli: Cli) -> None:
    new_identity(cli, "alice", encrypted=True)
    before = cli.snapshot()
    result = cli("identity", "show", "alice.id", "--passphrase-env", "WRONG", expect=1, env=base_env(WRONG="nope"))
    assert result.lines == ["domvia-e2ee: error: alice.id: wrong passphrase, or the file was modified",
                            "domvia-e2ee: hint: check the passphrase; a modified file cannot be repaired, "
                            "restore it from a backup"]
    assert cli.snapshot() == before


def test_group_readable_identity_is_refused_with_a_hint(cli: Cli) -> None:
    new_identity(cli, "bob")
    os.chmod(cli.path("bob.id"), 0o640)
    result = cli("identity", "show", "bob.id", expect=1)
    assert result.lines == ["domvia-e2ee: error: bob.id: permissions 0640 are too open: a private key or key ring "
                            "file must not be accessible by group or others",
                            "domvia-e2ee: hint: chmod 600 bob.id"]


def test_corrupt_truncated_and_wrong_version_identity_files(cli: Cli) -> None:
    new_identity(cli, "bob")
    good = cli.path("bob.id").read_bytes()
    cases = {
        good[: len(good) // 2]: "bob.id: not valid JSON: truncated or corrupt",
        b"": "bob.id: is empty",
        good.replace(b'"v":1', b'"v":2'): "bob.id: unsupported file version 2; this domvia-e2ee reads version 1",
        good.replace(b'"x25519":"', b'"x25519":"AAAA'): "bob.id: not a valid domvia-e2ee identity file: "
                                                      "X25519 private key (x25519): must be 32 bytes, got 35",
        b'{"file":"domvia-e2ee keyring","v":1}': "bob.id: not a domvia-e2ee identity file",
        b'{"id":"bob"}': "bob.id: not a valid public identity: format version (v): missing field",
    }
    for data, message in cases.items():
        cli.path("bob.id").write_bytes(data)
        os.chmod(cli.path("bob.id"), 0o600)
        result = cli("identity", "show", "bob.id", expect=1)
        assert result.lines[0] == f"domvia-e2ee: error: {message}", result.transcript()
        assert cli.path("bob.id").read_bytes() == data


def test_missing_identity_file(cli: Cli) -> None:
    result = cli("identity", "show", "nobody.id", expect=1)
    assert result.lines == ["domvia-e2ee: error: nobody.id: No such file or directory"]


def converse(cli: Cli, args: list[str], answers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Runs the command on a new pseudo-terminal (its controlling terminal) and answers its prompts."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command, never return into pytest
        try:
            os.chdir(cli.cwd)
            os.execve(sys.executable, [sys.executable, "-m", "domvia_e2ee.cli", *args], base_env())
        finally:
            os._exit(127)
    seen = b""
    try:
        for prompt, answer in answers:
            while prompt not in seen:
                seen += os.read(fd, 1024)
            os.write(fd, answer + b"\n")
        while True:
            seen += os.read(fd, 1024)
    except OSError:
        pass  # the child closed the terminal
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), seen


def test_passphrase_prompt_on_the_terminal(cli: Cli) -> None:
    create = ["identity", "new", "--id", "alice", "-o", "alice.id", "--encrypt", "--kdf-cost", "low"]
    code, seen = converse(cli, create, [(b"new passphrase for alice.id: ", b"pw1"), (b"repeat it: ", b"pw2")])
    assert code == 2 and b"domvia-e2ee: error: the two passphrases differ" in seen
    assert not cli.path("alice.id").exists()
    code, seen = converse(cli, create, [(b"new passphrase for alice.id: ", b"pw1"), (b"repeat it: ", b"pw1")])
    assert code == 0, seen
    assert b"pw1" not in seen  # not echoed
    code, seen = converse(cli, ["identity", "show", "alice.id"], [(b"passphrase for alice.id: ", b"pw1")])
    assert code == 0 and b"id:            alice" in seen
