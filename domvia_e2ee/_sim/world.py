"""The World drives a seeded run: participants join and leave rooms, go offline, send; everything goes
through the ServerStore and the lossy Relay, and, in malicious phases, the Adversary.

``run(seed, events)`` plays ``events`` random events, then quiesces (the relay stops losing, the
adversary stops, every client comes online and syncs until nothing is missing) and returns a Report.
Every delivery is checked as it is handled (invariants.py); unable-to-decrypt is counted at quiescence.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field

from ..errors import DomviaError
from ..group.keyring import KeyRing
from ..group.room import Room
from ..identity import Identity
from ..sealing import OpenedMessage
from ..store import ServerStore, SyncBatch
from .adversary import Adversary
from .client import Client, Delivery
from .invariants import Checker
from .ledger import InvariantError, Ledger, Message, RoomTruth
from .relay import Relay

SYNC_TIMEOUT = 24          # ticks after which an unanswered sync is taken as lost and asked again
QUIESCE_TICKS = 20_000     # a bound on the healing phase: not healed by then is a failure


@dataclass(frozen=True)
class Settings:
    """The shape of a run. ``broken`` names clients that drop retry codes (a deliberately broken client)."""

    clients: int = 8
    rooms: int = 2
    loss: float = 0.1
    duplicate: float = 0.05
    max_delay: int = 8
    malicious: bool = True
    broken: tuple[str, ...] = ()


@dataclass
class Report:
    """What a run measured: events, seconds, unable-to-decrypt at quiescence, and every outcome counted."""

    seed: int
    events: int
    seconds: float
    messages: int
    reads: int
    utd: list[tuple[str, Message]]
    refused_by_order: int
    codes: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        """Events per wall-clock second, quiescence included."""
        return self.events / self.seconds if self.seconds else 0.0


def _identity(seed: int, name: str) -> Identity:
    digest = hashlib.sha256(f"domvia-chaos {seed} {name}".encode()).digest()
    return Identity(name, x25519_private=digest, ed25519_seed=hashlib.sha256(digest).digest())


class World:
    """Participants p0..pN-1; room ri is administered by pi. All randomness of the run's choices is ``rng``."""

    def __init__(self, seed: int, settings: Settings = Settings()) -> None:
        self.seed, self.settings = seed, settings
        self.rng = random.Random(seed)
        self.tick = self.event = 0
        self.store = ServerStore(":memory:")
        self.ledger = Ledger()
        self.checker = Checker(self.ledger)
        self.relay = Relay(random.Random(self.rng.getrandbits(64)), settings.loss, settings.duplicate, settings.max_delay)
        self.adversary = Adversary(random.Random(self.rng.getrandbits(64))) if settings.malicious else None
        self.clients = {f"p{i}": Client(_identity(seed, f"p{i}"), KeyRing(_identity(seed, f"p{i}")), self._observe,
                                        retries=f"p{i}" not in settings.broken) for i in range(settings.clients)}
        self.offline_until: dict[str, int] = {}
        for index in range(settings.rooms):
            self._create_room(f"r{index}", self.clients[f"p{index}"])

    def _observe(self, client: Client, delivery: Delivery, code: str | None, opened: OpenedMessage | None) -> None:
        self.checker.where = f"seed {self.seed}, event {self.event}"
        self.checker.observe(client, delivery, code, opened)

    def _create_room(self, room_id: str, admin: Client) -> None:
        for client in self.clients.values():
            if client is not admin:
                client.ring.trust_admin(room_id, admin.identity.public)  # out of band, before any epoch
        others = [c.identity.public for c in self.rng.sample(list(self.clients.values()), 3) if c is not admin]
        room, rotation = Room.create(admin.ring, room_id, others)
        admin.rooms[room_id] = room
        self.ledger.rooms[room_id] = RoomTruth(admin.name)
        self._publish(room_id, rotation.bundle.to_bytes(), frozenset(room.members))

    def _publish(self, room_id: str, bundle: bytes, members: frozenset[str]) -> None:
        stored = self.store.put_bundle(bundle)
        self.ledger.epoch_stored(room_id, stored.epoch, stored.seq, members)
        for client in self.clients.values():
            if client.ring.latest_epoch(room_id) is not None or client.name in members:
                self._push(client, Delivery("honest", "poke", room_id, stored.seq, stored.epoch, b""))

    def _push(self, client: Client, delivery: Delivery) -> None:
        if client.online:
            self.relay.send(self.tick, client.name, delivery)

    # -- what clients ask of the server (the client.Server protocol) ------------------------

    def request_sync(self, client: Client) -> None:
        """Answers a sync now; the answer travels back through the relay (and the adversary)."""
        client.sync_in_flight, client.sync_wanted = self.tick, False
        batch = self.store.sync(client.name, client.cursor, limit=200, held=client.held())
        if self.adversary is not None:
            batch = self.adversary.alter(client.name, batch)
        self.relay.send(self.tick, client.name, batch)

    def request_proofs(self, client: Client, room_id: str, sender: str, epochs: tuple[int, ...]) -> None:
        """Answers a member proof fetch through the relay: the proof, or that there is none (not a member)."""
        for epoch in epochs:
            proof = self.store.member_proof(room_id, epoch, sender)
            answer = Delivery("honest", "member_proof", room_id, 0, epoch, proof) if proof is not None else \
                Delivery("honest", "no_proof", room_id, 0, epoch, sender.encode())
            self.relay.send(self.tick, client.name, answer)

    # -- events -----------------------------------------------------------------------------

    def step(self) -> None:
        """One event, then one tick of deliveries."""
        self.event += 1
        roll = self.rng.random()
        if roll < 0.55:
            self._send()
        elif roll < 0.62:
            self._change_room()
        elif roll < 0.64:
            self._go_offline()
        elif roll < 0.72 and self.adversary is not None:
            self._inject()
        else:
            self.rng.choice(list(self.clients.values())).sync_wanted = True
        self._advance()

    def _online(self) -> list[Client]:
        return [c for c in self.clients.values() if c.online]

    def _send(self) -> None:
        sender = self.rng.choice(self._online() or list(self.clients.values()))
        rooms = sender.ring.rooms()
        if not sender.online or not rooms:
            return
        room_id = self.rng.choice(rooms)
        try:
            sealed = sender.ring.seal(room_id, b"%s says %d" % (sender.name.encode(), self.event))
        except DomviaError:
            return  # not a member any more (its newest epoch is a link): nothing to send
        seq = self.store.put_message(sealed.to_bytes())
        self.ledger.message_stored(Message(room_id, seq, sealed.epoch, sender.name,
                                           b"%s says %d" % (sender.name.encode(), self.event)), sealed.wire)
        current = self.ledger.rooms[room_id].members[self.ledger.rooms[room_id].latest]
        for client in self.clients.values():
            if client.name in current and client is not sender:
                self._push(client, Delivery("honest", "message", room_id, seq, sealed.epoch, sealed.wire))

    def _change_room(self) -> None:
        room_id = self.rng.choice(sorted(self.ledger.rooms))
        admin = self.clients[self.ledger.rooms[room_id].admin]
        if not admin.online:
            return
        room = admin.rooms[room_id]
        outside = [c for c in self.clients.values() if c.name not in room.members]
        inside = [m for m in room.members if m != admin.name]
        roll = self.rng.random()
        if roll < 0.45 and outside:
            rotation = room.add([self.rng.choice(outside).identity.public])
        elif roll < 0.9 and inside:
            rotation = room.remove([self.rng.choice(inside)])
        else:
            rotation = room.rotate()
        self._publish(room_id, rotation.bundle.to_bytes(), frozenset(room.members))

    def _go_offline(self) -> None:
        client = self.rng.choice(list(self.clients.values()))
        if client.online:
            client.online = False
            self.offline_until[client.name] = self.tick + self.rng.choice((50, 200, 800, 2000))

    def _inject(self) -> None:
        assert self.adversary is not None
        target = self.rng.choice(self._online() or list(self.clients.values()))
        forged = self.adversary.forge(self.store, target, list(self.clients.values()), self.rng.choice(sorted(self.ledger.rooms)))
        if forged is not None:
            self.relay.send(self.tick, target.name, forged)

    def _advance(self) -> None:
        self.tick += 1
        for name, until in list(self.offline_until.items()):
            if until <= self.tick:
                del self.offline_until[name]
                self.clients[name].online = self.clients[name].sync_wanted = True
        for target, payload in self.relay.due(self.tick):
            client = self.clients[target]
            if not client.online:
                continue  # the realtime channel keeps nothing for an offline client
            if isinstance(payload, SyncBatch):
                client.on_batch(payload, self)
            else:
                client.receive(payload, self)
        for client in self._online():
            client.retry_parked(self)
            stale = client.sync_in_flight >= 0 and self.tick - client.sync_in_flight > SYNC_TIMEOUT
            if stale or (client.sync_wanted and client.sync_in_flight < 0):
                self.request_sync(client)

    # -- quiescence -------------------------------------------------------------------------

    def quiesce(self) -> None:
        """The relay stops losing, the adversary stops, everyone comes online and syncs until nothing is left."""
        self.relay.loss = self.relay.duplicate = 0.0
        self.adversary = None
        self.offline_until.clear()
        for client in self.clients.values():
            client.online = client.sync_wanted = True
        for _ in range(QUIESCE_TICKS):
            self._advance()
            busy = any(c.sync_wanted or c.sync_in_flight >= 0 for c in self.clients.values())
            if not busy and self.relay.idle():
                return
        raise InvariantError(f"seed {self.seed}: not quiescent after {QUIESCE_TICKS} ticks of healing")


def run(seed: int, events: int, settings: Settings = Settings()) -> Report:
    """Plays a run and returns its Report; raises InvariantError naming the seed and event on a violation."""
    start = time.perf_counter()
    world = World(seed, settings)
    for _ in range(events):
        world.step()
    world.quiesce()
    utd = world.ledger.unable_to_decrypt(sorted(world.clients))
    utd = [(c, m) for c, m in utd if (c, m.room_id, m.seq) not in world.checker.refused_by_order]
    return Report(seed, events, time.perf_counter() - start, len(world.ledger.messages), len(world.ledger.read), utd,
                  len(world.checker.refused_by_order), dict(world.checker.codes))
