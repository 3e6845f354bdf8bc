"""Inputs for benchmarks/bench_restore.py: a room of many epochs, a phone's key backup of them, and a
signed history of one message per epoch; and the same count of Megolm sessions and messages.

The room has four users with one device each: alice (whose phone backs up, and whose new laptop
restores), and three admins, bob, carol and dave, who rotate in turn. Epoch E's message is sent by its
rotator, so a device that restored the chain (whose rosters hold each epoch's rotator) knows every
sender. Everything is built once per process (about 10 s for 10,000 epochs on this machine).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from domvia_e2ee import Identity, KeyRing, RoomKey, UserKey, WrapKem, sign_device_list
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.group.header import NO_PREVIOUS
from domvia_e2ee.sealing import seal
from domvia_e2ee.users.backup import back_up
from domvia_e2ee.users.backup_info import BackupInfo, create_backup_info
from domvia_e2ee.users.device_list import DeviceList
from domvia_e2ee.users.recovery import BackupSecret

ROOM = "room-restore-bench"
ADMINS = ("bob", "carol", "dave")


def _seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("domvia-bench restore", *parts)).encode()).digest()


def _device(name: str) -> Identity:
    return Identity(name, x25519_private=_seed(name, "x"), ed25519_seed=_seed(name, "ed"))


@dataclass(frozen=True)
class RestoreWorld:
    """What a new device of alice needs to restore and read: chunks, the info and recovery key, the
    messages; and how to make that device's empty key ring."""

    epochs: int
    chunks: tuple[bytes, ...]
    info: BackupInfo
    recovery_key: str
    messages: tuple[bytes, ...]
    lists: tuple[DeviceList, ...]
    users: tuple[UserKey, ...]
    laptop: Identity

    def new_ring(self) -> KeyRing:
        """alice's laptop: its user's key and newest list, the other users' keys pinned, nothing of the room."""
        ring = KeyRing(self.laptop)
        for user in self.users:
            ring.pin_user(user.public)
        ring.add_device_list(self.lists[0], [self.laptop.public])
        return ring


@functools.cache
def restore_world(epochs: int) -> RestoreWorld:
    users = {name: UserKey(name, seed=_seed(name)) for name in ("alice", *ADMINS)}
    devices = {name: _device(f"{name}/phone") for name in users}
    laptop = _device("alice/laptop")
    lists = {name: sign_device_list(users[name], version=1, devices=[devices[name].public], issued_at=1)
             for name in users}
    alice_2 = sign_device_list(users["alice"], version=2, devices=[devices["alice"].public, laptop.public], issued_at=2)
    phone = KeyRing(devices["alice"])
    for name, user in users.items():
        phone.pin_user(user.public)
        phone.add_device_list(lists[name], [devices[name].public])
    phone.trust_admin(ROOM, devices["bob"].public)
    members = [d.public for d in devices.values()]
    admins = tuple(sorted(((devices[a].participant_id, devices[a].public.fingerprint) for a in ADMINS),
                          key=lambda a: a[0].encode()))
    previous, messages = NO_PREVIOUS, []
    for epoch in range(1, epochs + 1):
        rotator = devices[ADMINS[(epoch - 1) % len(ADMINS)]]
        key = RoomKey.generate(room_id=ROOM, epoch=epoch)
        bundle = build_bundle(rotator, key, members, kem=WrapKem.X25519, issued_at=1_700_000_000 + epoch,
                              plan=Plan(previous, admins=admins), lists=list(lists.values()))
        phone.accept(bundle.slice_for("alice/phone").to_bytes())
        previous = bundle.header.epoch_hash()
        messages.append(seal(key, f"message {epoch} of the room's history".encode(), message_id=f"m-{epoch}",
                             sender=rotator).to_bytes())
    info, secret = create_backup_info(users["alice"])
    chunks = tuple(p.chunk.to_bytes() for p in back_up(phone, info, first_seq=1))
    return RestoreWorld(epochs, chunks, info, secret.recovery_key(), tuple(messages),
                        (alice_2, *(lists[a] for a in ADMINS)), tuple(users.values()), laptop)


@dataclass(frozen=True)
class MegolmWorld:
    """vodozemac: one exported session key per epoch (a Megolm session per room key) and one message each;
    and the same keys as Matrix's key backup holds them (m.megolm_backup.v1.curve25519-aes-sha2: each
    session's JSON encrypted to the backup's Curve25519 key, here with vodozemac's PkEncryption)."""

    exported: tuple[str, ...]
    messages: tuple[bytes, ...]
    backup_key: Any  # vodozemac.PkDecryption
    backed_up: tuple[Any, ...]  # vodozemac.Message, one per session


@functools.cache
def megolm_world(sessions: int) -> MegolmWorld:
    import vodozemac

    exported, messages, backed_up = [], [], []
    backup_key = vodozemac.PkDecryption()
    to_backup = vodozemac.PkEncryption.from_key(backup_key.public_key)
    for index in range(sessions):
        outbound = vodozemac.GroupSession()
        inbound = vodozemac.InboundGroupSession(outbound.session_key)
        messages.append(outbound.encrypt(f"message {index} of the room's history".encode()).to_bytes())
        exported.append(inbound.export_at(0).to_base64())
        session_data = json.dumps({"algorithm": "m.megolm.v1.aes-sha2", "room_id": "!room:example.org",
                                   "sender_key": "x" * 43, "session_key": exported[-1]}).encode()
        backed_up.append(to_backup.encrypt(session_data))
    return MegolmWorld(tuple(exported), tuple(messages), backup_key, tuple(backed_up))


def recovery_secret(world: RestoreWorld) -> BackupSecret:
    """The backup secret of the world's recovery key."""
    return BackupSecret.from_recovery_key(world.recovery_key)
