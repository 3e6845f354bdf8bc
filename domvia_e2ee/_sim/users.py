"""Users in the simulation: each has a UserKey, a signed device list in the store's device_lists table and
one to three devices (Clients). Events: a user adds a device, loses one, or a device replaces its keys;
each publishes the next list version, which devices fetch (through the adversary) and add.

Every device pins every user's key (as if compared by safety number) and trusts every room's admin
device; the admin of room ri is device ui/d0, which is never lost nor re-keyed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import DomviaError
from ..group.keyring import KeyRing
from ..identity import Identity
from ..users.backup_info import BackupInfo, _backup_info_from_parts
from ..users.device_list import DeviceList, next_device_list, sign_device_list
from ..users.recovery import BackupSecret
from ..users.user_key import UserKey
from . import backups
from .client import Client

if TYPE_CHECKING:
    from .world import World

MAX_DEVICES = 3


def identity(seed: int, name: str, generation: int = 0) -> Identity:
    """A deterministic identity of a run."""
    digest = hashlib.sha256(f"domvia-chaos {seed} {name} {generation}".encode()).digest()
    return Identity(name, x25519_private=digest, ed25519_seed=hashlib.sha256(digest).digest())


@dataclass
class SimUser:
    """A user: its key, backup info and recovery key, genuine lists and device names."""

    user_id: str
    key: UserKey
    info: BackupInfo
    recovery: str
    lists: list[DeviceList] = field(default_factory=list)
    devices: dict[str, Identity] = field(default_factory=dict)    # listed device id -> identity
    ever: set[str] = field(default_factory=set)                   # every device id ever listed
    names: int = 0
    generations: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, seed: int, user_id: str) -> SimUser:
        """A user with deterministic keys; its devices come with publish()."""
        digest = hashlib.sha256(f"domvia-chaos {seed} user {user_id}".encode()).digest()
        key = UserKey(user_id, seed=digest)
        secret = BackupSecret(hashlib.sha256(digest).digest())
        return cls(user_id, key, _backup_info_from_parts(key, secret, version=1), secret.recovery_key())

    def new_name(self) -> str:
        """A fresh device id of this user."""
        self.names += 1
        return f"{self.user_id}/d{self.names - 1}"


def new_client(world: World, user: SimUser, who: Identity, *, needs_history: bool) -> Client:
    """A device of ``user``: pins every user key, trusts every room's admin, holds its user's list."""
    ring = KeyRing(who)
    for other in world.users.values():
        ring.pin_user(other.key.public)
    for room_id, truth in world.ledger.rooms.items():
        ring.trust_admin(room_id, world.clients[truth.admin].identity.public)
    ring.add_device_list(user.lists[-1], [d.public for d in user.devices.values()])
    broken = world.settings.broken_mode if user.user_id in world.settings.broken else ""
    return Client(who, ring, world.observe, user=user.user_id, retries=broken != "retries",
                  restores=broken != "restore", fetches_lists=broken != "lists", needs_history=needs_history,
                  restore_wanted=needs_history)


def publish(world: World, user: SimUser, devices: dict[str, Identity], backup_seqs: dict[str, int]) -> DeviceList:
    """The user's next list with exactly ``devices``, stored; every device is told to fetch lists."""
    issued = world.event
    if user.lists:
        new = next_device_list(user.key, user.lists[-1], devices=[d.public for d in devices.values()],
                               backup_seqs=backup_seqs, issued_at=issued)
    else:
        new = sign_device_list(user.key, version=1, devices=[d.public for d in devices.values()], issued_at=issued)
    world.store.put_device_list(user.user_id, new.version, new.to_bytes())
    world.ledger.lists[new.digest] = (user.user_id, new.version)
    user.lists.append(new)
    user.devices = dict(devices)
    world.identities.update(((d, i.public.fingerprint), i.public) for d, i in devices.items())
    user.ever |= set(devices)
    for client in world.clients.values():
        world.push_lists(client)
    return new


def _spare(user: SimUser) -> list[str]:
    return sorted(d for d in user.devices if not d.endswith("/d0"))


def add_device(world: World, user: SimUser) -> None:
    """The user adds a device: the next list names it; it restores (or is given a sibling's share)."""
    if len(user.devices) >= MAX_DEVICES:
        return
    who = identity(world.seed, user.new_name())
    publish(world, user, user.devices | {who.participant_id: who}, {})
    client = world.clients[who.participant_id] = new_client(world, user, who, needs_history=True)
    backups.offer_share(world, client)


def lose_device(world: World, user: SimUser) -> None:
    """The user loses a device: the next list drops it (revoked with the backup seq the store shows)."""
    spare = _spare(user)
    if not spare:
        return
    name = world.rng.choice(spare)
    lost = world.clients[name]
    publish(world, user, {d: i for d, i in user.devices.items() if d != name},
            {name: backups.last_seq(world, user.user_id, name)})
    lost.lost = True
    world.ledger.lose(lost.device)


def replace_keys(world: World, user: SimUser) -> None:
    """A device replaces its keys: same id, new identity on the next list; the old keys are a thief's."""
    spare = _spare(user)
    if not spare:
        return
    name = world.rng.choice(spare)
    user.generations[name] = user.generations.get(name, 0) + 1
    who = identity(world.seed, name, user.generations[name])
    old = world.clients[name]
    publish(world, user, user.devices | {name: who}, {name: backups.last_seq(world, user.user_id, name)})
    old.lost = True
    world.ledger.lose(old.device)
    world.thieves.append(old)
    client = world.clients[name] = new_client(world, user, who, needs_history=True)
    backups.offer_share(world, client)


def fetch_lists(world: World, client: Client, *, honest: bool = False) -> None:
    """The device fetches every user's newest list (through the adversary, unless ``honest``) and adds it; an
    admin device then rotates each room it administers whose member users' lists changed."""
    client.lists_wanted = False
    for user in world.users.values():
        stored = world.store.device_list(user.user_id)
        if stored is None:
            continue
        tag, data = "honest", stored[1]
        if world.adversary is not None and not honest:
            tag, data = world.adversary.alter_list(client, user, world.users, data)
        listed = DeviceList.from_bytes(data)
        identities = [world.identities[(d.device_id, d.fingerprint)] for d in listed.devices
                      if (d.device_id, d.fingerprint) in world.identities]
        error: DomviaError | None = None
        try:
            client.ring.add_device_list(data, identities)
        except DomviaError as failure:
            error = failure
        world.checker.list_outcome(client, tag, user.user_id, error)
    for room_id, room in client.rooms.items():
        if "devices" in room.rotation_due():
            world.publish_rotation(room_id, room, room.rotate())

