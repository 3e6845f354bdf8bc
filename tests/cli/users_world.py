"""A small world of users for the user, device and backup transcript tests.

alice is a user (user key encrypted, passphrase from the environment) with two devices, alice/phone
(the rotating admin) and alice/laptop; bob is a user (plain user key) with one device, bob/phone.
room-1 is a room of the users alice and bob at epoch 1, with its member proofs in proofs-1/.
"""

from __future__ import annotations

from dataclasses import dataclass

from .helpers import PASS_ENV, Cli

USER_PASS = ["--passphrase-env", PASS_ENV]
ALICE_KEY = ["--user-key", "alice.user", *USER_PASS]
PHONE = ["-I", "alice-phone.id"]
ROOM = ["--state", "room-1.state"]


def file_of(device_id: str) -> str:
    """alice/phone -> alice-phone (the .id and .pub files of that device)."""
    return device_id.replace("/", "-")


def new_device(cli: Cli, device_id: str) -> None:
    name = file_of(device_id)
    cli("identity", "new", "--id", device_id, "-o", f"{name}.id", "--public-out", f"{name}.pub")


def new_user(cli: Cli, user_id: str, *, encrypted: bool) -> None:
    protect = ["--kdf-cost", "low", *USER_PASS] if encrypted else ["--no-passphrase"]
    cli("user", "create", "--user", user_id, "-o", f"{user_id}.user", *protect)


def own_user(cli: Cli, device_id: str, user_id: str) -> None:
    """A device pins its own user and holds its user's device list (what backups and shares need)."""
    ident = ["-I", f"{file_of(device_id)}.id"]
    cli("keyring", "pin-user", *ident, f"{user_id}.user.pub")
    cli("keyring", "add-devices", *ident, f"{user_id}.devices")


@dataclass
class UserWorld:
    cli: Cli

    @classmethod
    def build(cls, cli: Cli) -> UserWorld:
        new_user(cli, "alice", encrypted=True)
        new_user(cli, "bob", encrypted=False)
        for device in ("alice/phone", "alice/laptop", "bob/phone"):
            new_device(cli, device)
        cli("devices", "new", *ALICE_KEY, "-o", "alice.devices", "alice-phone.pub", "alice-laptop.pub")
        cli("devices", "new", "--user-key", "bob.user", "-o", "bob.devices", "bob-phone.pub")
        for user in ("alice", "bob"):
            cli("keyring", "pin-user", *PHONE, f"{user}.user.pub")
        cli("keyring", "add-devices", *PHONE, "alice.devices", "--device", "alice-laptop.pub")
        cli("keyring", "add-devices", *PHONE, "bob.devices", "--device", "bob-phone.pub")
        cli("room", "create", *PHONE, *ROOM, "--room", "room-1", "--user", "alice", "--user", "bob",
            "--bundle-out", "b1.bin", "--proofs-dir", "proofs-1")
        for device in ("alice-laptop", "bob-phone"):
            cli("keyring", "accept", "-I", f"{device}.id", "--room", "room-1", "--admin", "alice-phone.pub", "b1.bin")
        return cls(cli)

    def seal(self, device_id: str, text: str, out: str) -> None:
        self.cli("seal", "-I", f"{file_of(device_id)}.id", "--room", "room-1", "-o", out, input=text)

    def read(self, device_id: str, message: str, expect: int = 0) -> str:
        return self.cli("open", "-I", f"{file_of(device_id)}.id", message, "--no-replay-check", expect=expect).out
