"""user, devices, keyring pin-user/add-devices and rooms of users: key files, signed device lists that
only move forward, and a room whose members are users (spec/users.md)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import pytest

from .helpers import PASS_ENV, REPO, Cli, base_env
from .users_world import ALICE_KEY, PHONE, ROOM, UserWorld, new_device, new_user


@pytest.fixture
def users(cli: Cli) -> UserWorld:
    return UserWorld.build(cli)


def mode(cli: Cli, name: str) -> int:
    return stat.S_IMODE(os.stat(cli.path(name)).st_mode)


def test_user_create_writes_a_private_key_file_and_never_overwrites_it(cli: Cli) -> None:
    created = cli("user", "create", "--user", "alice", "-o", "alice.user", "--kdf-cost", "low",
                  "--passphrase-env", PASS_ENV, "--json").json()
    assert created["ok"] and created["user"] == "alice" and created["encrypted"] is True
    assert created["file"] == "alice.user" and created["public_file"] == "alice.user.pub"
    assert created["kdf"] == {"name": "argon2id", "memory_kib": 19456, "iterations": 2, "lanes": 1}
    assert len(created["safety_number"].split()) == 6
    assert (mode(cli, "alice.user"), mode(cli, "alice.user.pub")) == (0o600, 0o644)
    assert json.loads(cli.path("alice.user.pub").read_bytes()) == created["public"]
    stored = json.loads(cli.path("alice.user").read_bytes())
    assert stored["file"] == "domvia-e2ee user-key" and "ciphertext" in stored and "user" not in stored
    before = cli.snapshot()
    again = cli("user", "create", "--user", "alice", "-o", "alice.user", "--no-passphrase", "--json", expect=1)
    assert again.json()["error"]["code"] == "E_IO" and "refusing to overwrite" in again.json()["error"]["message"]
    public_taken = cli("user", "create", "--user", "x", "-o", "x.user", "--public-out", "alice.user.pub",
                       "--no-passphrase", expect=1)
    assert public_taken.lines[0] == "domvia-e2ee: error: alice.user.pub: already exists; refusing to overwrite it"
    assert cli.snapshot() == before  # nothing written, nothing changed
    shown = cli("user", "show", "alice.user.pub").out.splitlines()
    assert shown[:3] == ["user:          alice", f"fingerprint:   {created['fingerprint']}",
                         f"safety number: {created['safety_number']}"]
    private = cli("user", "show", "alice.user", "--passphrase-env", PASS_ENV, "--json").json()
    assert (private["kind"], private["safety_number"]) == ("private, passphrase-encrypted", created["safety_number"])
    unset = cli("user", "show", "alice.user", "--passphrase-env", "NOT_SET", "--json", expect=2)
    assert unset.json()["error"] == {"code": "E_USAGE", "hint": None,
                                     "message": "environment variable NOT_SET is not set"}


def test_user_key_files_follow_the_private_file_rules(cli: Cli) -> None:
    new_user(cli, "bob", encrypted=False)
    assert mode(cli, "bob.user") == 0o600
    plain = json.loads(cli.path("bob.user").read_bytes())
    assert sorted(plain) == ["file", "user", "v"] and sorted(plain["user"]) == ["ed25519", "user", "v"]
    os.chmod(cli.path("bob.user"), 0o644)
    refused = cli("user", "show", "bob.user", "--json", expect=1).json()["error"]
    assert refused["code"] == "E_POLICY" and refused["hint"] == "chmod 600 bob.user"
    os.chmod(cli.path("bob.user"), 0o600)
    as_identity = cli("identity", "show", "bob.user", expect=1)
    assert "not a domvia-e2ee identity file" in as_identity.lines[0]
    new_user(cli, "alice", encrypted=True)
    bad = cli("user", "show", "alice.user", "--passphrase-fd", "0", input="wrong\n", expect=1)
    assert bad.lines[0] == "domvia-e2ee: error: alice.user: wrong passphrase, or the file was modified"
    usage = cli("user", "create", "--user", "a/b", "-o", "ab.user", "--no-passphrase", expect=2)
    assert "a user id has at most 96 characters and no '/'" in usage.lines[0]
    mixed = cli("user", "create", "--user", "c", "-o", "c.user", "--no-passphrase", "--passphrase-env", PASS_ENV,
                expect=2)
    assert "not with --no-passphrase" in mixed.lines[0]
    no_tty = cli("user", "create", "--user", "d", "-o", "d.user", expect=2)
    assert no_tty.lines[0] == "domvia-e2ee: error: d.user needs a passphrase and there is no terminal to ask for it"
    assert not cli.path("d.user").exists() and not cli.path("c.user").exists()


def test_a_device_list_only_moves_forward(cli: Cli) -> None:
    new_user(cli, "alice", encrypted=True)
    new_user(cli, "bob", encrypted=False)
    for device in ("alice/phone", "alice/laptop", "alice/tablet", "bob/phone"):
        new_device(cli, device)
    made = cli("devices", "new", *ALICE_KEY, "-o", "alice.devices", "alice-phone.pub", "alice-laptop.pub",
               "--json").json()
    assert (made["version"], [d["id"] for d in made["devices"]], made["revoked"]) == (1, ["alice/laptop",
                                                                                          "alice/phone"], [])
    assert made["created"] is True and mode(cli, "alice.devices") == 0o644
    v1 = cli.path("alice.devices").read_bytes()
    assert v1[:4] == b"DVL\x03"
    before = cli.snapshot()
    foreign = cli("devices", "add", *ALICE_KEY, "alice.devices", "bob-phone.pub", "--json", expect=1).json()["error"]
    assert foreign["code"] == "E_POLICY" and "not a device of user 'alice'" in foreign["message"]
    cli("user", "create", "--user", "alice", "-o", "mallory.user", "--no-passphrase")  # another key, same user id
    forged = cli("devices", "add", "--user-key", "mallory.user", "alice.devices", "alice-tablet.pub", expect=1)
    assert forged.lines[0].startswith("domvia-e2ee: error: alice.devices: not a valid device list: the device list "
                                      "of 'alice' is signed by a key other than the pinned one")
    assert cli("devices", "remove", *ALICE_KEY, "alice.devices", "alice/laptop", expect=2).lines[0] == \
        "domvia-e2ee: error: the following arguments are required: --backup-seq"
    assert cli("devices", "remove", *ALICE_KEY, "alice.devices", "alice/tv", "--backup-seq", "0", expect=2).lines[0] \
        == "domvia-e2ee: error: alice/tv is not on version 1 of the list"
    assert cli("devices", "new", *ALICE_KEY, "-o", "alice.devices", "alice-tablet.pub", expect=1).lines[0] == \
        "domvia-e2ee: error: alice.devices: already exists; refusing to overwrite it"
    after = {k: v for k, v in cli.snapshot().items() if not k.startswith("mallory") and not k.endswith(".lock")}
    assert after == before  # the list's lock file (kept while the list exists) aside, nothing changed

    added = cli("devices", "add", *ALICE_KEY, "alice.devices", "alice-tablet.pub", "--json").json()
    assert (added["version"], added["added"]) == (2, ["alice/tablet"])
    removed = cli("devices", "remove", *ALICE_KEY, "alice.devices", "alice/laptop", "--backup-seq", "4", "--json").json()
    assert removed["version"] == 3 and [d["id"] for d in removed["devices"]] == ["alice/phone", "alice/tablet"]
    assert [(r["id"], r["backup_seq_limit"]) for r in removed["revoked"]] == [("alice/laptop", 4)]
    new_device_keys = cli("identity", "new", "--id", "alice/phone", "-o", "phone2.id", "--public-out", "phone2.pub")
    assert new_device_keys.code == 0
    rekeyed = cli("devices", "rekey", *ALICE_KEY, "alice.devices", "phone2.pub", "--backup-seq", "9", "--json").json()
    assert rekeyed["version"] == 4 and rekeyed["rekeyed"] == "alice/phone"
    assert sorted((r["id"], r["backup_seq_limit"]) for r in rekeyed["revoked"]) == [("alice/laptop", 4),
                                                                                   ("alice/phone", 9)]
    shown = cli("devices", "show", "alice.devices", "--user", "alice.user.pub").out.splitlines()
    assert shown[0].startswith("user:     alice (safety number ")
    assert shown[1].startswith("version:  4, issued ") and shown[1].endswith(", signed by the user key")
    assert [line.split()[:2] for line in shown[2:]] == [["device", "alice/phone"], ["device", "alice/tablet"],
                                                        ["revoked", "alice/laptop"], ["revoked", "alice/phone"]]
    not_hers = cli("devices", "show", "alice.devices", "--user", "bob.user.pub", "--json", expect=1).json()["error"]
    assert not_hers["code"] == "E_UNAUTHORIZED"

    # Pinning and holding: a list older than the newest held is a rollback, refused with no change.
    cli.path("alice-v1.devices").write_bytes(v1)
    cli("keyring", "pin-user", *PHONE, "alice.user.pub")
    cli("keyring", "add-devices", *PHONE, "alice.devices", "--device", "alice-tablet.pub")
    ring = cli.path("alice-phone.keyring").read_bytes()
    rollback = cli("keyring", "add-devices", *PHONE, "alice-v1.devices", "--json", expect=1).json()["error"]
    assert rollback["code"] == "E_ROLLBACK"
    assert rollback["message"] == ("alice-v1.devices: refused: version 1 of the device list of 'alice' is older "
                                   "than version 4, already held")
    off_list = cli("keyring", "add-devices", *PHONE, "alice.devices", "--device", "alice-laptop.pub", "--json",
                   expect=1).json()["error"]
    assert off_list["code"] == "E_POLICY"
    assert cli.path("alice-phone.keyring").read_bytes() == ring


def test_pinning_a_user_shows_its_safety_number_and_refuses_a_changed_key(cli: Cli) -> None:
    new_user(cli, "bob", encrypted=False)
    new_device(cli, "carol")
    safety = cli("user", "show", "bob.user.pub", "--json").json()["safety_number"]
    pinned = cli("keyring", "pin-user", "-I", "carol.id", "bob.user.pub")
    assert pinned.out == f"pinned user bob: safety number {safety}\n"
    assert pinned.lines == ["domvia-e2ee: created key ring carol.keyring"]
    assert cli("keyring", "pin-user", "-I", "carol.id", "bob.user.pub", "--json").json()["changed"] is False
    cli("user", "create", "--user", "bob", "-o", "bob2.user", "--public-out", "bob2.pub", "--no-passphrase")
    ring = cli.path("carol.keyring").read_bytes()
    changed = cli("keyring", "pin-user", "-I", "carol.id", "bob2.pub", expect=1)
    assert changed.lines[0].startswith("domvia-e2ee: error: bob2.pub: user 'bob' is pinned with another key")
    assert changed.lines[1] == "domvia-e2ee: hint: if the change is genuine (checked out of band), pass --replace"
    assert cli.path("carol.keyring").read_bytes() == ring
    replaced = cli("keyring", "pin-user", "-I", "carol.id", "bob2.pub", "--replace", "--json").json()
    assert replaced["changed"] is True and replaced["user"] == "bob"


def test_a_room_of_users_across_devices_and_a_device_removal(users: UserWorld) -> None:
    cli = users.cli
    shown = cli("room", "show", *PHONE, *ROOM, "--json").json()
    assert shown["users"] == ["alice", "bob"]
    assert shown["members"] == ["alice/laptop", "alice/phone", "bob/phone"]
    users.seal("bob/phone", "hi alice, on both your devices", "m1.json")
    assert users.read("alice/laptop", "m1.json") == "hi alice, on both your devices"
    assert users.read("alice/phone", "m1.json") == "hi alice, on both your devices"

    cli("devices", "remove", *ALICE_KEY, "alice.devices", "alice/laptop", "--backup-seq", "0")
    cli("keyring", "add-devices", *PHONE, "alice.devices")
    due = cli("room", "show", *PHONE, *ROOM, "--json").json()
    assert "devices" in due["rotation_due"]
    refused = cli("seal", "-I", "alice-phone.id", "--room", "room-1", "--json", input="not yet", expect=1)
    assert refused.json()["error"]["code"] == "E_POLICY"
    assert "a rotation is due: ['alice/laptop'] left their users' device lists" in refused.json()["error"]["message"]
    rotated = cli("room", "rotate", *PHONE, *ROOM, "--bundle-out", "b2.bin", "--json").json()
    assert rotated["epoch"] == 2 and rotated["members"] == ["alice/phone", "bob/phone"]
    assert cli("keyring", "accept", "-I", "bob-phone.id", "b2.bin").out == "accepted bundle for room room-1: epoch 2\n"
    assert cli("keyring", "accept", "-I", "alice-laptop.id", "b2.bin").out == \
        "accepted link for room room-1: epoch 2\n"  # the removed device keeps the chain and gets no key
    users.seal("alice/phone", "after the laptop was lost", "m2.json")
    assert users.read("bob/phone", "m2.json") == "after the laptop was lost"
    lost = cli("open", "-I", "alice-laptop.id", "m2.json", "--json", expect=1).json()["error"]
    assert lost["code"] == "E_NOT_MEMBER"


def test_room_add_users_and_remove_users(users: UserWorld) -> None:
    cli = users.cli
    new_user(cli, "carol", encrypted=False)
    new_device(cli, "carol/phone")
    cli("devices", "new", "--user-key", "carol.user", "-o", "carol.devices", "carol-phone.pub")
    state = cli.snapshot()
    missing = cli("room", "add-users", *PHONE, *ROOM, "carol", "--json", expect=1).json()["error"]
    assert missing["code"] == "E_POLICY" and "no device list of user 'carol' is held" in missing["message"]
    assert cli.snapshot() == state
    cli("keyring", "pin-user", *PHONE, "carol.user.pub")
    cli("keyring", "add-devices", *PHONE, "carol.devices", "--device", "carol-phone.pub")
    added = cli("room", "add-users", *PHONE, *ROOM, "carol", "--bundle-out", "b2.bin", "--json").json()
    assert (added["epoch"], added["added_users"], added["users"]) == (2, ["carol"], ["alice", "bob", "carol"])
    cli("keyring", "accept", "-I", "carol-phone.id", "--room", "room-1", "--admin", "alice-phone.pub", "b2.bin")
    cli("keyring", "accept", "-I", "bob-phone.id", "b2.bin")
    users.seal("carol/phone", "hello from carol", "m2.json")
    assert users.read("bob/phone", "m2.json") == "hello from carol"
    again = cli("room", "add-users", *PHONE, *ROOM, "carol", expect=1)
    assert "already members: ['carol']" in again.lines[0]
    removed = cli("room", "remove-users", *PHONE, *ROOM, "carol", "--bundle-out", "b3.bin",
                  "--announcement-out", "a3.bin", "--json").json()
    assert (removed["epoch"], removed["removed_users"], removed["members"]) == (
        3, ["carol"], ["alice/laptop", "alice/phone", "bob/phone"])
    assert cli("keyring", "accept", "-I", "carol-phone.id", "a3.bin").out == "accepted link for room room-1: epoch 3\n"
    cli("keyring", "accept", "-I", "bob-phone.id", "b3.bin")
    users.seal("bob/phone", "carol is gone", "m3.json")
    assert cli("open", "-I", "carol-phone.id", "m3.json", "--json", expect=1).json()["error"]["code"] == "E_NOT_MEMBER"
    own = cli("room", "remove-users", *PHONE, *ROOM, "alice", expect=1)
    assert "cannot remove its own user" in own.lines[0]
    assert cli("room", "remove-users", *PHONE, *ROOM, "a/b", expect=2).code == 2


def readme_users_walkthrough() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("<!-- cli:start -->", 1)[1].split("<!-- cli:end -->", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)[1]


def test_the_readme_users_walkthrough_runs(cli: Cli) -> None:
    script = readme_users_walkthrough()
    assert "user create" in script and "backup restore" in script
    wrapper = f"""set -euo pipefail
domvia-e2ee() {{
    local extra=()
    [[ "$1 $2" == "user create" ]] && extra=(--kdf-cost low)
    "{sys.executable}" -m domvia_e2ee.cli "$@" "${{extra[@]}}"
}}
"""
    env = base_env(ALICE_USER_PASS="alice's user key passphrase", BOB_USER_PASS="bob's user key passphrase")
    done = subprocess.run(["bash", "-c", wrapper + script], cwd=cli.cwd, env=env, capture_output=True, text=True,
                          timeout=300, start_new_session=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.rstrip().endswith("see you all on Friday")
    assert "restored room team: epoch 1, 1 key" in done.stdout
    assert "room team: epoch 2, members 3 (alice/phone, alice/tablet, bob/phone)" in done.stdout


@pytest.mark.parametrize("leaf", [["user", "create"], ["user", "show"], ["devices", "new"], ["devices", "add"],
                                  ["devices", "remove"], ["devices", "rekey"], ["devices", "show"],
                                  ["keyring", "pin-user"], ["keyring", "add-devices"], ["room", "add-users"],
                                  ["room", "remove-users"], ["backup", "create"], ["backup", "up"],
                                  ["backup", "restore"], ["backup", "share"], ["backup", "accept-share"]])
def test_every_new_command_takes_json_and_has_no_secret_option(cli: Cli, leaf: list[str]) -> None:
    text = cli(*leaf, "--help").out
    assert "--json" in text and "--debug" in text
    options = set(re.findall(r"--[a-z-]+", text))
    assert not {"--passphrase", "--recovery-key", "--backup-secret"} & options  # secrets only from fd, env or tty
