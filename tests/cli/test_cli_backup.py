"""backup create/up/restore/share/accept-share: a new device reads old messages from the key backup,
with the recovery key and no other device online; every refusal is reported with its code and a
failed restore changes nothing (spec/backup.md)."""

from __future__ import annotations

import os
import re
import stat

import pytest

from .helpers import Cli, base_env
from .users_world import ALICE_KEY, PHONE, ROOM, UserWorld, new_device, own_user

TABLET = ["-I", "alice-tablet.id"]
RECOVERY = re.compile(r"DVRK(-[A-Z2-7]{5}){11}")


@pytest.fixture
def users(cli: Cli) -> UserWorld:
    return UserWorld.build(cli)


def create_backup(cli: Cli) -> str:
    created = cli("backup", "create", *ALICE_KEY, "-o", "alice.backup-info", "--json").json()
    assert RECOVERY.fullmatch(created["recovery_key"]), created
    return str(created["recovery_key"])


def restore(cli: Cli, key: str, *chunks: str, expect: int = 0, json_out: bool = True) -> object:
    done = cli("backup", "restore", *TABLET, "--info", "alice.backup-info", "--backup-secret-env", "RK", *chunks,
               *(["--json"] if json_out else []), env=base_env(RK=key), expect=expect)
    return done.json() if json_out else done


def lose_laptop_and_add_tablet(users: UserWorld, seq: int) -> None:
    """The laptop is lost (its last chunk on the server is `seq`), a tablet joins; alice/phone rotates."""
    cli = users.cli
    new_device(cli, "alice/tablet")
    cli("devices", "remove", *ALICE_KEY, "alice.devices", "alice/laptop", "--backup-seq", str(seq))
    cli("devices", "add", *ALICE_KEY, "alice.devices", "alice-tablet.pub")
    cli("keyring", "add-devices", *PHONE, "alice.devices", "--device", "alice-tablet.pub")
    cli("room", "rotate", *PHONE, *ROOM, "--bundle-out", "b2.bin")
    cli("keyring", "accept", "-I", "bob-phone.id", "b2.bin")
    own_user(cli, "alice/tablet", "alice")
    cli("keyring", "accept", *TABLET, "--room", "room-1", "--admin", "alice-phone.pub", "b2.bin")


def test_a_new_device_restores_the_backup_and_reads_old_messages(users: UserWorld) -> None:
    cli = users.cli
    users.seal("bob/phone", "sent before the tablet existed", "m1.json")
    shown = cli("backup", "create", *ALICE_KEY, "-o", "alice.backup-info")
    assert RECOVERY.fullmatch(shown.out.strip()) and shown.out.count("\n") == 1  # stdout: the key alone
    assert "warning: this recovery key is shown once and stored nowhere" in shown.stderr
    assert stat.S_IMODE(os.stat(cli.path("alice.backup-info")).st_mode) == 0o644
    key = shown.out.strip()
    own_user(cli, "alice/laptop", "alice")
    up = cli("backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "1",
             "-o", "up-1", "--json").json()
    assert (up["epochs"], up["rooms"], up["next_seq"], up["dir"]) == (1, 1, 2, "up-1")
    assert [(c["file"], c["seq"]) for c in up["chunks"]] == [("up-1/alice%2Flaptop.1.chunk", 1)]
    nothing = cli("backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "2",
                  "-o", "up-2")
    assert nothing.out == "nothing to back up: no chunk written\n" and not cli.path("up-2").exists()

    lose_laptop_and_add_tablet(users, seq=1)
    too_new = cli("open", *TABLET, "m1.json", "--json", expect=1).json()["error"]
    assert too_new["code"] == "E_DEVICE_TOO_NEW" and too_new["unreadable"]["action"] == "restore-backup-or-ask-sibling"
    report = restore(cli, key, "up-1")
    assert report == {"ok": True, "keyring": "alice-tablet.keyring", "keys": 1, "refused_chunks": [],
                      "refused_rooms": [], "rooms": [{"room": "room-1", "epochs": [1], "keys": 1}]}
    # The restored epoch holds the rotator's proof only: the sender's comes from the server, as for a slice.
    cli("keyring", "accept", *TABLET, "proofs-1/bob%2Fphone.proof")
    assert users.read("alice/tablet", "m1.json") == "sent before the tablet existed"
    epochs = cli("keyring", "show", *TABLET, "--json").json()["rooms"][0]["epochs"]
    assert [(e["epoch"], e["key"]) for e in epochs] == [(1, True), (2, True)]
    text = restore(cli, key, "up-1", json_out=False)
    assert text.out.splitlines() == ["restored room room-1: epoch 1, 1 key",  # type: ignore[attr-defined]
                                     "restored 1 room (1 key); refused 0 chunks and 0 rooms"]


def test_wrong_mistyped_or_missing_recovery_keys_change_nothing(users: UserWorld) -> None:
    cli = users.cli
    key = create_backup(cli)
    own_user(cli, "alice/laptop", "alice")
    cli("backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "1", "-o", "up-1")
    lose_laptop_and_add_tablet(users, seq=1)
    before = cli.snapshot()
    from domvia_e2ee.users.recovery import BackupSecret

    wrong = restore(cli, BackupSecret.generate().recovery_key(), "up-1", expect=1)
    assert wrong == {"ok": False, "error": {"code": "E_AUTH", "message": "alice.backup-info: this recovery key does not "
                                            "open the backup", "hint": "check the recovery key: it is well formed, "
                                            "but not this backup's"}}
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    mistyped = restore(cli, typo, "up-1", expect=1)["error"]  # type: ignore[index]
    assert mistyped["code"] == "E_FORMAT" and mistyped["message"].startswith("recovery key (recovery_key): ")
    assert restore(cli, key.lower().replace("-", " "), "up-1")["keys"] == 1  # type: ignore[index]
    cli.path("alice-tablet.keyring").write_bytes(before["alice-tablet.keyring"])
    missing = cli("backup", "restore", *TABLET, "--info", "alice.backup-info", "up-1", expect=2)
    assert missing.lines == ["domvia-e2ee: error: alice.backup-info needs a recovery key and there is no terminal to "
                             "ask for it", "domvia-e2ee: hint: pass --backup-secret-fd N or --backup-secret-env NAME"]
    read, write = os.pipe()
    os.write(write, (key + "\n").encode())
    os.close(write)
    from_fd = cli("backup", "restore", *TABLET, "--info", "alice.backup-info", "--backup-secret-fd", str(read), "up-1",
                  "--json", pass_fds=(read,))
    os.close(read)
    assert from_fd.json()["keys"] == 1


def test_chunks_a_removed_device_wrote_later_and_tampered_chunks_are_refused(users: UserWorld) -> None:
    cli = users.cli
    key = create_backup(cli)
    own_user(cli, "alice/laptop", "alice")
    cli("backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "1", "-o", "up-1")
    lose_laptop_and_add_tablet(users, seq=1)
    users.seal("alice/phone", "x", "m2.json")
    # The lost laptop (its key ring still has the old list) writes chunk 2 after its removal.
    cli("keyring", "accept", "-I", "alice-laptop.id", "b2.bin")
    cli("backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "2", "-o", "up-2")
    chunk = cli.path("up-1/alice%2Flaptop.1.chunk").read_bytes()
    cli.path("bad").mkdir()
    cli.path("bad/flipped.chunk").write_bytes(chunk[:-70] + bytes([chunk[-70] ^ 1]) + chunk[-69:])
    cli.path("bad/short.chunk").write_bytes(chunk[:50])
    ring = cli.path("alice-tablet.keyring").read_bytes()
    refused = restore(cli, key, "up-2", "bad", expect=1, json_out=False)
    assert refused.lines == [  # type: ignore[attr-defined]
        "domvia-e2ee: refused chunk bad/short.chunk: E_FORMAT (malformed)",
        "domvia-e2ee: refused chunk alice/laptop#2: E_UNAUTHORIZED (not written by a device on your user's device "
        "list, or written after its removal)",
        "domvia-e2ee: refused chunk alice/laptop#1: E_AUTH (does not verify, or is not for this backup key or device)",
        "domvia-e2ee: error: nothing restored: 3 chunks and 0 rooms refused; the key ring is unchanged",
        "domvia-e2ee: hint: the refusals are listed above; a chunk list from the server may be incomplete or not yours"]
    assert cli.path("alice-tablet.keyring").read_bytes() == ring
    partial = restore(cli, key, "up-1", "up-2")
    assert partial["refused_chunks"] == [{"chunk": "alice/laptop#2", "code": "E_UNAUTHORIZED"}]  # type: ignore[index]
    assert partial["rooms"] == [{"room": "room-1", "epochs": [1], "keys": 1}]  # type: ignore[index]


def test_backup_up_writes_nothing_on_failure_and_counts_only_written_chunks(users: UserWorld) -> None:
    cli = users.cli
    create_backup(cli)
    up = ["backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "1"]
    not_a_user = cli(*up, "-o", "up-1", "--json", expect=1).json()["error"]
    assert not_a_user["code"] == "E_POLICY" and "keyring pin-user" in not_a_user["hint"]
    own_user(cli, "alice/laptop", "alice")
    cli.path("taken").mkdir()
    cli.path("taken/x").write_text("x")
    ring = cli.path("alice-laptop.keyring").read_bytes()
    taken = cli(*up, "-o", "taken", expect=1)
    assert taken.lines[0] == "domvia-e2ee: error: taken: exists and is not an empty directory"
    assert cli.path("alice-laptop.keyring").read_bytes() == ring  # not counted as backed up
    cli("user", "create", "--user", "alice", "-o", "other.user", "--no-passphrase")
    cli("backup", "create", "--user-key", "other.user", "-o", "forged.backup-info")
    forged = cli("backup", "up", "-I", "alice-laptop.id", "--info", "forged.backup-info", "--first-seq", "1",
                 "-o", "up-f", "--json", expect=1).json()["error"]
    assert forged["code"] == "E_AUTH" and not cli.path("up-f").exists()
    assert cli(*up, "-o", "up-1", "--json").json()["next_seq"] == 2  # still pending after the failures
    again = cli("backup", "create", *ALICE_KEY, "-o", "alice.backup-info", expect=1)
    assert again.lines[0] == "domvia-e2ee: error: alice.backup-info: already exists; refusing to overwrite it"
    assert cli(*up[:-2], "--first-seq", "0", "-o", "z", expect=2).lines[0] == \
        "domvia-e2ee: error: --first-seq is from 1 to 2^32 - 1"


def test_a_passphrase_backup(users: UserWorld) -> None:
    cli = users.cli
    env = base_env(BACKUP_PASS="a long backup passphrase")
    created = cli("backup", "create", *ALICE_KEY, "-o", "alice.backup-info", "--passphrase-backup", "--kdf-cost", "low",
                  "--backup-secret-env", "BACKUP_PASS", "--json", env=env).json()
    assert (created["kind"], created["recovery_key"]) == ("passphrase", None)
    assert created["kdf"] == {"memory_kib": 19456, "iterations": 2, "lanes": 1}
    assert cli("backup", "create", *ALICE_KEY, "-o", "x.info", "--kdf-cost", "low", expect=2).lines[0] == \
        "domvia-e2ee: error: --backup-secret-fd, --backup-secret-env and --kdf-cost need --passphrase-backup"
    users.seal("bob/phone", "old news", "m1.json")
    own_user(cli, "alice/laptop", "alice")
    cli("backup", "up", "-I", "alice-laptop.id", "--info", "alice.backup-info", "--first-seq", "1", "-o", "up-1")
    lose_laptop_and_add_tablet(users, seq=1)
    wrong = restore(cli, "not the passphrase", "up-1", expect=1)
    assert wrong["error"]["message"] == "alice.backup-info: this backup passphrase does not open the backup"  # type: ignore[index]
    assert restore(cli, "a long backup passphrase", "up-1")["keys"] == 1  # type: ignore[index]


def test_sharing_with_a_sibling(users: UserWorld) -> None:
    cli = users.cli
    users.seal("bob/phone", "before the tablet", "m1.json")
    lose_laptop_and_add_tablet(users, seq=0)
    own_user(cli, "alice/phone", "alice")
    to_bob = cli("backup", "share", *PHONE, "--to", "bob-phone.pub", "--first-seq", "1", "-o", "s-bob", "--json",
                 expect=1).json()["error"]
    assert to_bob["code"] == "E_UNAUTHORIZED" and not cli.path("s-bob").exists()
    shared = cli("backup", "share", *PHONE, "--to", "alice-tablet.pub", "--first-seq", "1", "-o", "share-1", "--json")
    assert shared.json()["to"] == "alice/tablet" and shared.json()["epochs"] == 2
    own_user(cli, "bob/phone", "bob")
    ring = cli.path("bob-phone.keyring").read_bytes()
    not_mine = cli("backup", "accept-share", "-I", "bob-phone.id", "share-1", "--json", expect=1).json()["error"]
    assert not_mine["code"] == "E_FORMAT"  # a chunk of another user's devices
    assert cli.path("bob-phone.keyring").read_bytes() == ring
    accepted = cli("backup", "accept-share", *TABLET, "share-1", "--json").json()
    assert accepted["rooms"] == [{"room": "room-1", "epochs": [1, 2], "keys": 2}]
    cli("keyring", "accept", *TABLET, "proofs-1/bob%2Fphone.proof")
    assert users.read("alice/tablet", "m1.json") == "before the tablet"
