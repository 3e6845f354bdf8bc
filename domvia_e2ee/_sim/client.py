"""A simulated participant: one identity, its key ring, and the Room of each room it administers.

The client logic is the one spec/errors.md asks for: accept and open what arrives; on E_GAP and
E_UNKNOWN_KEY fetch what is missing (a sync telling the store which epochs the key ring holds), on
E_UNKNOWN_SENDER fetch the sender's member proofs, and retry the parked message afterwards. A
"device" is this class today; a user with several devices would own several of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import DomviaError
from ..group.keyring import KeyRing
from ..group.room import Room
from ..identity import Identity
from ..message import SealedMessage
from ..sealing import OpenedMessage
from ..store import SyncBatch
from .ledger import RETRY

MAX_ATTEMPTS = 40  # a parked message is given up after this many retries (a removed sender's stays unreadable)


@dataclass(frozen=True)
class Delivery:
    """One item on its way to a client: ``tag`` says where it came from ("honest", "replay" or a key of
    ledger.FORGED), ``kind`` what it is (a SyncItem kind, or "poke": the room changed, sync)."""

    tag: str
    kind: str
    room_id: str
    seq: int
    epoch: int
    data: bytes


class Server(Protocol):
    """What a client asks of the world: a sync, or a sender's member proofs."""

    def request_sync(self, client: Client) -> None: ...
    def request_proofs(self, client: Client, room_id: str, sender: str, epochs: tuple[int, ...]) -> None: ...


Observer = Callable[["Client", Delivery, "str | None", "OpenedMessage | None"], None]


@dataclass
class Parked:
    """A message that failed with a retry code, waiting for what was fetched."""

    delivery: Delivery
    attempts: int = 0


@dataclass
class Client:
    """A participant with one device. ``retries`` False makes it a broken client that drops what fails with
    a retry code instead of fetching and retrying (tests/test_chaos.py shows the invariant then fails)."""

    identity: Identity
    ring: KeyRing
    observe: Observer
    retries: bool = True
    online: bool = True
    cursor: str | None = None
    sync_wanted: bool = False
    sync_in_flight: int = -1            # the tick a sync was asked at; -1: none
    retry_due: bool = False             # something arrived that parked messages may have waited for
    rooms: dict[str, Room] = field(default_factory=dict)
    parked: list[Parked] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The participant id."""
        return self.identity.participant_id

    def held(self) -> dict[str, int]:
        """Room to the newest epoch the key ring holds: sent with each sync."""
        return {r: self.ring.latest_epoch(r) or 0 for r in self.ring.rooms()}

    def receive(self, delivery: Delivery, server: Server) -> None:
        """A pushed item (or an injected one): a poke asks for a sync, anything else is tried at once."""
        if delivery.kind == "poke":
            self.sync_wanted = True
            return
        if delivery.kind == "no_proof":
            self._drop_parked(delivery.room_id, delivery.data.decode(), delivery.epoch)
            return
        self._try(delivery, server)
        self.retry_due = self.retry_due or delivery.kind == "member_proof"

    def on_batch(self, batch: SyncBatch, server: Server) -> None:
        """A sync response: dropped if it answers an older request (a late duplicate), else applied in order."""
        if batch.since != self.cursor:
            return
        self.sync_in_flight = -1
        self.cursor = batch.cursor
        for item in batch.items:
            self._try(Delivery("honest", item.kind, item.room_id, item.seq, item.epoch, item.data), server)
        self.sync_wanted = self.sync_wanted or batch.more
        self.retry_due = True

    def _try(self, delivery: Delivery, server: Server, *, fetch: bool = True) -> str | None:
        opened = None
        code = None
        try:
            if delivery.kind == "message":
                opened = self.ring.open(delivery.data)
            else:
                self.ring.accept(delivery.data)
        except DomviaError as error:
            code = error.code
        self.observe(self, delivery, code, opened)
        if code in RETRY and self.retries and fetch:
            self._fetch(delivery, code, server)
        elif code in RETRY and self.retries and not any(p.delivery == delivery for p in self.parked):
            self.parked.append(Parked(delivery))  # a retry that failed again: back in the queue, no new fetch
        return code

    def _fetch(self, delivery: Delivery, code: str | None, server: Server) -> None:
        if delivery.kind != "message":
            self.sync_wanted = True          # E_GAP (or a proof for an epoch not held): sync what is missing
            return
        latest = self.ring.latest_epoch(delivery.room_id)
        if code == "E_UNKNOWN_KEY" and latest is not None and delivery.epoch <= latest:
            return  # older than the first epoch held (sealed before this client joined): no fetch brings it
        if not any(p.delivery == delivery for p in self.parked):
            self.parked.append(Parked(delivery))
        if code == "E_UNKNOWN_SENDER":
            sender = SealedMessage.parse(delivery.data).sender_id
            epochs = {delivery.epoch, latest or delivery.epoch}
            server.request_proofs(self, delivery.room_id, sender, tuple(sorted(epochs)))
        else:
            self.sync_wanted = True

    def _drop_parked(self, room_id: str, sender: str, epoch: int) -> None:
        """The store says ``sender`` is no member of ``epoch``: its parked messages waiting for that proof
        (the client's newest epoch is that one) will never open live; the spec refuses them."""
        if self.ring.latest_epoch(room_id) != epoch:
            return
        self.parked = [p for p in self.parked if p.delivery.room_id != room_id
                       or SealedMessage.parse(p.delivery.data).sender_id != sender]

    def retry_parked(self, server: Server) -> None:
        """Tries every parked message again (once per tick, when something arrived); keeps those still failing
        with a retry code, a bounded number of times."""
        if not self.retry_due:
            return
        waiting, self.parked, self.retry_due = self.parked, [], False
        for parked in waiting:
            parked.attempts += 1
            # A fetch can be lost too: ask again now and then, not on every retry (that would flood).
            code = self._try(parked.delivery, server, fetch=parked.attempts % 4 == 0)
            if code not in RETRY or parked.attempts >= MAX_ATTEMPTS:
                self.parked = [p for p in self.parked if p.delivery != parked.delivery]
            for again in self.parked:
                if again.delivery == parked.delivery:
                    again.attempts = parked.attempts
