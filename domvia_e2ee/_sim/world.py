"""The World drives a seeded run: users with one to three devices join and leave rooms, add, lose and
re-key devices, go offline, send, back up and restore; everything goes through the ServerStore and the
lossy Relay and, in malicious runs, the Adversary.

``run(seed, events)`` plays ``events`` random events, then quiesces (the relay stops losing, the adversary
stops, every device comes online, fetches lists, syncs, backs up and restores until nothing is missing)
and returns a Report. Every delivery is checked as it is handled (invariants.py); unable-to-decrypt
(UTD) is counted at quiescence.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from ..errors import DomviaError
from ..group.room import Room, Rotation
from ..identity import PublicIdentity
from ..sealing import OpenedMessage
from ..store import ServerStore, SyncBatch
from . import backups, events, users
from .adversary import Adversary
from .client import Client, Delivery
from .invariants import Checker
from .ledger import Device, InvariantError, Ledger, Message, RoomTruth
from .relay import Relay

SYNC_TIMEOUT = 24          # ticks after which an unanswered sync is taken as lost and asked again
RESTORE_EVERY = 100       # ticks between two restores of a device while the chaos goes on (each reads every chunk)
QUIESCE_TICKS = 20_000     # a bound on each healing phase: not healed by then is a failure
# Cumulative event probabilities: send, change a room, go offline, inject, back up, add / lose / re-key a
# device, retention; the rest asks a device to sync.
EVENTS = (("send", 0.50), ("room", 0.56), ("offline", 0.58), ("inject", 0.64), ("backup", 0.67),
          ("add", 0.673), ("lose", 0.676), ("rekey", 0.679), ("forget", 0.682))


@dataclass(frozen=True)
class Settings:
    """The shape of a run. ``broken`` names users whose devices are broken as ``broken_mode`` says: "retries"
    (drops retry codes), "restore" (never restores) or "lists" (never fetches device lists)."""

    users: int = 5
    rooms: int = 2
    loss: float = 0.1
    duplicate: float = 0.05
    max_delay: int = 8
    malicious: bool = True
    broken: tuple[str, ...] = ()
    broken_mode: str = "retries"


@dataclass
class Report:
    """What a run measured: events, seconds, unable-to-decrypt at quiescence, and every outcome counted."""

    seed: int
    events: int
    seconds: float
    messages: int
    reads: int
    utd: list[tuple[Device, Message]]
    refused_by_order: int
    devices: int
    codes: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        """Events per wall-clock second, quiescence included."""
        return self.events / self.seconds if self.seconds else 0.0


class World:
    """Users u0..uN-1 (devices ui/dK); room ri is administered by ui/d0. All choices come from ``rng``."""

    def __init__(self, seed: int, settings: Settings = Settings()) -> None:
        self.seed, self.settings = seed, settings
        self.rng = random.Random(seed)
        self.tick = self.event = 0
        self.store = ServerStore(":memory:")
        self.ledger = Ledger()
        self.checker = Checker(self.ledger)
        self.relay = Relay(random.Random(self.rng.getrandbits(64)), settings.loss, settings.duplicate, settings.max_delay)
        self.adversary = Adversary(random.Random(self.rng.getrandbits(64))) if settings.malicious else None
        self.users = {f"u{i}": users.SimUser.create(seed, f"u{i}") for i in range(settings.users)}
        self.clients: dict[str, Client] = {}
        self.thieves: list[Client] = []          # old incarnations of re-keyed devices
        self.identities: dict[tuple[str, bytes], PublicIdentity] = {}
        self.offline_until: dict[str, int] = {}
        self.epochs_asked: dict[tuple[str, str, int, int, bool], int] = {}
        for user in self.users.values():
            self.store.put_backup_chunk(user.user_id, backups.INFO_DEVICE, user.info.version, user.info.to_bytes())
            devices = {(who := users.identity(seed, user.new_name())).participant_id: who
                       for _ in range(self.rng.randint(1, users.MAX_DEVICES))}
            users.publish(self, user, devices, {})
        for user in self.users.values():
            for who in user.devices.values():
                self.clients[who.participant_id] = users.new_client(self, user, who, needs_history=False)
        for client in self.clients.values():
            users.fetch_lists(self, client, honest=True)
        for index in range(settings.rooms):
            self._create_room(f"r{index}", self.clients[f"u{index}/d0"])

    def observe(self, client: Client, delivery: Delivery, error: DomviaError | None, opened: OpenedMessage | None) -> None:
        """Every outcome goes to the checker, which names the seed and event of a failure."""
        self.checker.where = f"seed {self.seed}, event {self.event}"
        self.checker.observe(client, delivery, error, opened)

    def _create_room(self, room_id: str, admin: Client) -> None:
        for client in self.clients.values():
            if client is not admin:
                client.ring.trust_admin(room_id, admin.identity.public)  # out of band, before any epoch
        others = self.rng.sample(sorted(u for u in self.users if u != admin.user), 2)
        room, rotation = Room.create(admin.ring, room_id, users=[admin.user or "", *others])
        admin.rooms[room_id] = room
        self.ledger.rooms[room_id] = RoomTruth(admin.name)
        self.publish_rotation(room_id, room, rotation)

    def publish_rotation(self, room_id: str, room: Room, rotation: Rotation) -> None:
        """Stores an admin's new epoch, records it, and pokes every device that follows the room."""
        stored = self.store.put_bundle(rotation.bundle.to_bytes())
        members = frozenset((i, p.fingerprint) for i, p in room.members.items())
        self.ledger.epoch_stored(room_id, stored.epoch, stored.seq, members, frozenset(room.users))
        for client in self.clients.values():
            if client.ring.latest_epoch(room_id) is not None or client.name in room.members:
                self.push(client, Delivery("honest", "poke", room_id, stored.seq, stored.epoch, b""))

    def push(self, client: Client, delivery: Delivery) -> None:
        if client.online:
            self.relay.send(self.tick, client.name, delivery)

    def push_lists(self, client: Client) -> None:
        """Tells a device that a device list changed (it may miss it, and fetches lists now and then)."""
        self.push(client, Delivery("honest", "lists", "", 0, 0, b""))

    # -- what clients ask of the server (the client.Server protocol) ------------------------

    def request_sync(self, client: Client) -> None:
        """Answers a sync now; the answer travels back through the relay (and the adversary)."""
        client.sync_in_flight, client.sync_wanted = self.tick, False
        batch = self.store.sync(client.name, client.cursor, limit=200, held=client.held())
        if self.adversary is not None:
            batch = self.adversary.alter(client.name, batch, client.ring.rooms())
        self.relay.send(self.tick, client.name, batch)

    def request_proofs(self, client: Client, room_id: str, sender: str, epochs: tuple[int, ...]) -> None:
        """Answers a member proof fetch through the relay: the proof, or that there is none (not a member)."""
        for epoch in epochs:
            proof = self.store.member_proof(room_id, epoch, sender)
            answer = Delivery("honest", "member_proof", room_id, 0, epoch, proof) if proof is not None else \
                Delivery("honest", "no_proof", room_id, 0, epoch, sender.encode())
            self.relay.send(self.tick, client.name, answer)

    def dropped(self, client: Client, delivery: Delivery) -> None:
        """A parked message given up: its sender is no member of the device's newest epoch (no proof)."""
        self.checker.dropped(client, delivery)

    def request_epochs(self, client: Client, room_id: str, first: int, last: int, *, announcement: bool = False) -> None:
        """Answers a fetch of epochs through the relay: the device id's slice of each, else (or when asked: the
        slice is of the id's older keys) the announcement. A fetch asked again within SYNC_TIMEOUT is ignored."""
        asked = (client.name, room_id, first, last, announcement)
        if self.tick - self.epochs_asked.get(asked, -SYNC_TIMEOUT) < SYNC_TIMEOUT:
            return
        self.epochs_asked[asked] = self.tick
        for epoch in range(first, last + 1):
            piece = None if announcement else self.store.slice_for(room_id, epoch, client.name)
            data = piece if piece is not None else self.store.announcement(room_id, epoch)
            if data is not None:
                kind = "slice" if piece is not None else "announcement"
                self.relay.send(self.tick, client.name, Delivery("honest", kind, room_id, 0, epoch, data))

    # -- events -----------------------------------------------------------------------------

    def step(self) -> None:
        """One event, then one tick of deliveries."""
        self.event += 1
        roll = self.rng.random()
        kind = next((k for k, p in EVENTS if roll < p), "sync")
        user = self.users[self.rng.choice(sorted(self.users))]
        current = [c for c in self.clients.values() if not c.lost]
        if kind == "send":
            events.send(self)
        elif kind == "room":
            events.change_room(self)
        elif kind == "offline":
            events.go_offline(self)
        elif kind == "inject" and self.adversary is not None:
            events.inject(self)
        elif kind in ("backup", "forget"):
            client = self.rng.choice(current)
            backups.back_up_device(self, client) if kind == "backup" else backups.forget(self, client)
        elif kind in ("add", "lose", "rekey"):
            {"add": users.add_device, "lose": users.lose_device, "rekey": users.replace_keys}[kind](self, user)
        else:
            chosen = self.rng.choice(current)
            chosen.sync_wanted = True
            chosen.lists_wanted = chosen.lists_wanted or self.rng.random() < 0.2
        self._advance()

    def online(self) -> list[Client]:
        """The devices online now."""
        return [c for c in self.clients.values() if c.online]

    def _advance(self) -> None:
        self.tick += 1
        for name, until in list(self.offline_until.items()):
            if until <= self.tick:
                del self.offline_until[name]
                self.clients[name].online = self.clients[name].sync_wanted = self.clients[name].lists_wanted = True
        for target, payload in self.relay.due(self.tick):
            client = self.clients[target]
            if not client.online:
                continue  # the realtime channel keeps nothing for an offline client
            if isinstance(payload, SyncBatch):
                client.on_batch(payload, self)
            elif payload.kind == "share":
                backups.accept_share(self, client, payload.data)
            else:
                client.receive(payload, self)
        for client in self.online():
            if client.lists_wanted and client.fetches_lists:
                users.fetch_lists(self, client)
            # Restore once caught up: a restored run becomes the chain of a room not held yet (backup.md step 7),
            # and live epochs before it are refused then, even those the device was a member of.
            caught_up = not client.sync_wanted and client.sync_in_flight < 0
            if client.restore_wanted and caught_up and self.tick - client.restore_tick >= (
                    RESTORE_EVERY if self.adversary else 16):
                client.restore_tick = self.tick
                backups.restore_device(self, client)
            client.retry_parked(self)
            stale = client.sync_in_flight >= 0 and self.tick - client.sync_in_flight > SYNC_TIMEOUT
            if stale or (client.sync_wanted and client.sync_in_flight < 0):
                self.request_sync(client)

    # -- quiescence -------------------------------------------------------------------------

    def _heal(self) -> None:
        for _ in range(QUIESCE_TICKS):
            self._advance()
            busy = any(c.sync_wanted or c.sync_in_flight >= 0 or (c.restore_wanted and c.restores)
                       or (c.lists_wanted and c.fetches_lists) for c in self.clients.values())
            if not busy and self.relay.idle():
                return
        stuck = [(c.name, c.sync_wanted, c.sync_in_flight, c.restore_wanted, c.lists_wanted)
                 for c in self.clients.values() if c.sync_wanted or c.sync_in_flight >= 0 or c.restore_wanted]
        raise InvariantError(f"seed {self.seed}: not quiescent after {QUIESCE_TICKS} ticks of healing: {stuck[:4]}")

    def quiesce(self) -> None:
        """The relay stops losing, the adversary stops, everyone comes online, fetches lists (admins rotate),
        syncs, backs up, and every device that needs its user's history restores it, until nothing is left."""
        self.relay.loss = self.relay.duplicate = 0.0
        self.adversary = None
        self.offline_until.clear()
        for client in self.clients.values():
            client.online = client.sync_wanted = client.lists_wanted = True
        for _ in range(2):
            self._heal()
            for client in self.clients.values():
                if not client.lost:
                    backups.back_up_device(self, client)
            for client in self.clients.values():
                client.restore_wanted = client.needs_history and not client.lost
                client.unshelve()
                client.restore_marks.clear()
            self._heal()


def run(seed: int, events: int, settings: Settings = Settings()) -> Report:
    """Plays a run and returns its Report; raises InvariantError naming the seed and event on a violation."""
    start = time.perf_counter()
    world = World(seed, settings)
    for _ in range(events):
        world.step()
    world.quiesce()
    for room_id, truth in world.ledger.rooms.items():
        kept = sorted(d[0] for d in truth.members[truth.latest] if d in world.ledger.gone)
        if kept:  # a lost device or replaced keys still a member once everyone fetched lists: no rotation happened
            raise InvariantError(f"seed {seed}: room {room_id} epoch {truth.latest} still wraps to gone {kept}")
    devices = {c.device: c.user for c in world.clients.values() if not c.lost}
    utd = [(d, m) for d, m in world.ledger.unable_to_decrypt(devices)
           if (d, m.room_id, m.seq) not in world.checker.refused_by_order]
    return Report(seed, events, time.perf_counter() - start, len(world.ledger.messages), len(world.ledger.read), utd,
                  len(world.checker.refused_by_order), len(world.identities), dict(world.checker.codes))
