"""A simulated device: one identity, its key ring, and the Room of each room it administers.

The client logic is the one spec/unreadable.md asks for: accept and open what arrives, and on a failure
take the cause's action (``explain(error).action``): fetch-epochs (a sync telling the store which epochs
the key ring holds), fetch-member-proof (the sender's proofs), restore-backup(-or-ask-sibling) (the
user's key backup); then retry the parked message. A device of a user also fetches device lists and
backs up; users.py and backups.py do that for it.
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
from ..unreadable import explain
from .ledger import RETRY, Device

MAX_ATTEMPTS = 40  # a parked message is given up after this many retries (a removed sender's stays unreadable)


@dataclass(frozen=True)
class Delivery:
    """One item on its way to a client: ``tag`` says where it came from ("honest", "replay", "history",
    "stolen" or a key of ledger.FORGED), ``kind`` what it is (a SyncItem kind, or "poke": the room changed,
    sync; "lists": a device list changed, fetch them)."""

    tag: str
    kind: str
    room_id: str
    seq: int
    epoch: int
    data: bytes


class Server(Protocol):
    """What a client asks of the world: a sync, a sender's member proofs, its user's key backup."""

    def request_sync(self, client: Client) -> None: ...
    def request_proofs(self, client: Client, room_id: str, sender: str, epochs: tuple[int, ...]) -> None: ...
    def dropped(self, client: Client, delivery: Delivery) -> None: ...
    def request_epochs(self, client: Client, room_id: str, first: int, last: int, *,
                       announcement: bool = False) -> None: ...


Observer = Callable[["Client", Delivery, "DomviaError | None", "OpenedMessage | None"], None]


@dataclass
class Parked:
    """A message that failed with a retry code, waiting for what was fetched."""

    delivery: Delivery
    attempts: int = 0


@dataclass
class Client:
    """A device. ``retries`` False makes it a broken client that drops what fails with a retry code instead of
    taking the action and retrying; ``restores`` False one that never restores its user's key backup
    and ``fetches_lists`` False one that never fetches device lists (tests/test_chaos.py shows the invariant
    then fails)."""

    identity: Identity
    ring: KeyRing
    observe: Observer
    user: str | None = None
    retries: bool = True
    restores: bool = True
    fetches_lists: bool = True
    online: bool = True
    lost: bool = False                  # removed from its user's list (a thief may still hold it)
    needs_history: bool = False         # added after its user joined rooms, new keys, or forgot keys
    restore_wanted: bool = False
    restore_tick: int = -1_000_000      # the tick of its last restore
    restore_marks: dict[str, int] = field(default_factory=dict)  # room -> newest held when epochs were fetched
    lists_wanted: bool = False
    cursor: str | None = None
    sync_wanted: bool = False
    sync_in_flight: int = -1            # the tick a sync was asked at; -1: none
    retry_due: bool = False             # something arrived that parked messages may have waited for
    rooms: dict[str, Room] = field(default_factory=dict)
    restored: set[str] = field(default_factory=set)   # rooms a restore or a sibling's share brought history of
    parked: list[Parked] = field(default_factory=list)
    shelved: list[Delivery] = field(default_factory=list)  # given up for now: tried again after a restore or sync-all

    @property
    def name(self) -> str:
        """The participant id."""
        return self.identity.participant_id

    @property
    def device(self) -> Device:
        """The incarnation: participant id and identity fingerprint."""
        return (self.name, self.identity.public.fingerprint)

    def held(self) -> dict[str, int]:
        """Room to the newest epoch the key ring holds: sent with each sync."""
        return {r: self.ring.latest_epoch(r) or 0 for r in self.ring.rooms()}

    def receive(self, delivery: Delivery, server: Server) -> None:
        """A pushed item (or an injected one): a poke asks for a sync, anything else is tried at once."""
        if delivery.kind == "poke":
            self.sync_wanted = True
            return
        if delivery.kind == "lists":
            self.lists_wanted = True
            return
        if delivery.kind == "no_proof":
            self._drop_parked(delivery.room_id, delivery.data.decode(), delivery.epoch, server)
            return
        self.attempt(delivery, server)
        self.retry_due = self.retry_due or delivery.kind == "member_proof"

    def on_batch(self, batch: SyncBatch, server: Server) -> None:
        """A sync response: dropped if it answers an older request (a late duplicate), else applied in order."""
        if batch.since != self.cursor:
            return
        self.sync_in_flight = -1
        self.cursor = batch.cursor
        for item in batch.items:
            self.attempt(Delivery("honest", item.kind, item.room_id, item.seq, item.epoch, item.data), server)
        self.sync_wanted = self.sync_wanted or batch.more
        self.retry_due = True

    def attempt(self, delivery: Delivery, server: Server, *, fetch: bool = True, live: bool = True) -> str | None:
        """Accepts or opens one delivery (``live`` False: stored history, no replay check) and reports it."""
        opened = None
        error = None
        try:
            if delivery.kind == "message":
                opened = self.ring.open(delivery.data, check_replay=live)
            else:
                self.ring.accept(delivery.data)
        except DomviaError as failure:
            error = failure
        self.observe(self, delivery, error, opened)
        code = None if error is None else error.code
        held = self.ring.latest_epoch(delivery.room_id)
        if code == "E_NOT_RECIPIENT" and delivery.tag == "honest" and self.retries and held is not None \
                and delivery.epoch > held:
            # A slice of this device id's older keys (the store syncs by id): the chain needs the announcement.
            server.request_epochs(self, delivery.room_id, delivery.epoch, delivery.epoch, announcement=True)
        if error is None or code not in RETRY or not self.retries or not live:
            return code
        if fetch:
            self._act(delivery, error, server)
        elif not any(p.delivery == delivery for p in self.parked):
            self.parked.append(Parked(delivery))  # a retry that failed again: back in the queue, no new fetch
        return code

    def _act(self, delivery: Delivery, error: DomviaError, server: Server) -> None:
        action = explain(error).action
        latest = self.ring.latest_epoch(delivery.room_id)
        if delivery.kind != "message":
            self.sync_wanted = True          # E_GAP (or a proof for an epoch not held): sync what is missing
            if error.code == "E_GAP" and latest is not None and delivery.epoch > latest + 1:
                # A chain restored from the backup ends before the first epoch the store serves this device.
                server.request_epochs(self, delivery.room_id, latest + 1, delivery.epoch - 1)
            return
        if error.code == "E_UNKNOWN_KEY" and latest is not None and delivery.epoch <= latest:
            return  # a participant that is no user's device, older than its first epoch: nothing brings it
        if not any(p.delivery == delivery for p in self.parked):
            self.parked.append(Parked(delivery))
        if action == "fetch-member-proof":
            sender = SealedMessage.parse(delivery.data).sender_id
            epochs = {delivery.epoch, latest or delivery.epoch}
            server.request_proofs(self, delivery.room_id, sender, tuple(sorted(epochs)))
        elif action.startswith("restore-backup"):
            self.restore_wanted = self.needs_history = self.restores
        else:
            self.sync_wanted = True

    def unshelve(self) -> None:
        """What was given up is parked again (after a restore, or when the device catches up on everything)."""
        self.parked.extend(Parked(d) for d in self.shelved if not any(p.delivery == d for p in self.parked))
        self.shelved, self.retry_due = [], True

    def _drop_parked(self, room_id: str, sender: str, epoch: int, server: Server) -> None:
        """The store says ``sender`` is no member of ``epoch``: its parked messages waiting for that proof
        (the client's newest epoch is that one) will never open live; the spec refuses them."""
        if self.ring.latest_epoch(room_id) != epoch:
            return
        keep = [p.delivery.room_id != room_id or SealedMessage.parse(p.delivery.data).sender_id != sender
                for p in self.parked]
        for parked, kept in zip(self.parked, keep, strict=True):
            if not kept:
                server.dropped(self, parked.delivery)
        self.parked = [p for p, kept in zip(self.parked, keep, strict=True) if kept]

    def retry_parked(self, server: Server) -> None:
        """Tries every parked message again (once per tick, when something arrived); keeps those still failing
        with a retry code, a bounded number of times."""
        if not self.retry_due:
            return
        waiting, self.parked, self.retry_due = self.parked, [], False
        for parked in waiting:
            parked.attempts += 1
            # A fetch can be lost too: ask again now and then, not on every retry (that would flood).
            code = self.attempt(parked.delivery, server, fetch=parked.attempts % 4 == 0)
            if code not in RETRY or parked.attempts >= MAX_ATTEMPTS:
                self.parked = [p for p in self.parked if p.delivery != parked.delivery]
                if code in RETRY and parked.delivery not in self.shelved:
                    self.shelved.append(parked.delivery)
            for again in self.parked:
                if again.delivery == parked.delivery:
                    again.attempts = parked.attempts
