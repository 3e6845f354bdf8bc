"""The checks run on every delivery a device handles, every list it fetches and every restore it runs.

Codes are checked against the ground truth (ledger.py) as spec/keyring.md ("Opening"), spec/users.md,
spec/backup.md and spec/unreadable.md state them, and every failure of a message must carry the cause
of spec/unreadable.md's table (``explain(error).cause``): an honest message fails only for a reason the
ground truth confirms or transiently; a device reads only what its incarnation was a member of or what
its user's devices backed up for an epoch the user was a member of; a lost device or replaced keys read
nothing of a later epoch (no-key-yet or not-a-member); forgeries never open (a removed member's message
aside, at a device that has not learnt of the removal yet), and they fail only with their codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import DomviaError
from ..group.replay import DEFAULT_LIVE_EPOCHS
from ..sealing import OpenedMessage
from ..unreadable import explain
from ..users.restore import RestoreReport
from .client import Client, Delivery
from .ledger import CAUSES, FORGED, InvariantError, Ledger, Message

EPOCH_ITEM_CODES = frozenset({"E_STALE", "E_GAP", "E_UNKNOWN_KEY"})  # held already, ahead, proof of an epoch ahead
LIST_CODES: dict[str, set[str | None]] = {"honest": {None}, "old-list": {"E_ROLLBACK"}, "forged-list": {"E_UNAUTHORIZED"},
              "other-user": {None, "E_ROLLBACK"}}


@dataclass
class Checker:
    """Runs the checks; ``where`` names the seed and event for a failure. Counts every outcome."""

    ledger: Ledger
    where: str = ""
    codes: Counter[str] = field(default_factory=Counter)
    refused_by_order: set[tuple[tuple[str, bytes], str, int]] = field(default_factory=set)
    removed_opened_before_removal: int = 0

    def fail_plain(self, detail: str) -> None:
        """Raises InvariantError naming the seed and the event."""
        raise InvariantError(f"{self.where}: {detail}")

    def fail(self, client: Client, delivery: Delivery, detail: str) -> None:
        """Raises InvariantError naming the seed, the event, the client and the delivery."""
        self.fail_plain(f"{client.name} got {delivery.tag} {delivery.kind} of room {delivery.room_id} epoch "
                        f"{delivery.epoch} seq {delivery.seq}: {detail}")

    def observe(self, client: Client, delivery: Delivery, error: DomviaError | None,
                opened: OpenedMessage | None) -> None:
        """The outcome of one accept or open by ``client``."""
        code = None if error is None else error.code
        self.codes[f"{delivery.tag}:{delivery.kind}:{code or 'ok'}"] += 1
        if error is not None and delivery.kind == "message":
            cause = explain(error).cause
            self.codes[f"cause:{cause}"] += 1
            if CAUSES.get(error.code) != cause:
                self.fail(client, delivery, f"{error.code} reported as cause {cause}, not {CAUSES.get(error.code)}")
        if delivery.tag in FORGED:
            self._forged(client, delivery, code, opened)
        elif delivery.kind == "message":
            self._message(client, delivery, code, opened)
        elif code == "E_NOT_RECIPIENT" and delivery.kind in ("slice", "announcement"):
            # A slice of its id's older keys, or an epoch its id's older keys fetched, arriving after a re-key.
            if self.ledger.is_member(delivery.room_id, delivery.epoch, client.device) or (
                    delivery.kind == "announcement" and client.ring.latest_epoch(delivery.room_id) is not None):
                self.fail(client, delivery, f"a genuine {delivery.kind} failed with {code}")
        elif code is not None and code not in EPOCH_ITEM_CODES:
            self.fail(client, delivery, f"a genuine {delivery.kind} failed with {code}")

    def _forged(self, client: Client, delivery: Delivery, code: str | None, opened: OpenedMessage | None) -> None:
        if code is None:
            if delivery.tag != "removed-sender" or opened is None:
                self.fail(client, delivery, "a forgery was accepted")
            assert opened is not None
            latest = client.ring.latest_epoch(delivery.room_id) or 0
            members = self.ledger.rooms[delivery.room_id].members.get(latest, frozenset())
            if not any(d[0] == opened.sender_id for d in members):
                self.fail(client, delivery, f"opened a removed member's message while holding epoch {latest}")
            self.removed_opened_before_removal += 1
        elif code not in FORGED[delivery.tag]:
            self.fail(client, delivery, f"{code} is not a cause of this forgery (expected {sorted(FORGED[delivery.tag])})")

    def _truth(self, client: Client, delivery: Delivery) -> Message:
        key = self.ledger.by_wire.get(delivery.data)
        if key is None:
            self.fail(client, delivery, "a message the store never logged")
        assert key is not None
        return self.ledger.messages[key]

    def _message(self, client: Client, delivery: Delivery, code: str | None, opened: OpenedMessage | None) -> None:
        message = self._truth(client, delivery)
        room, me = message.room_id, client.device
        latest = client.ring.latest_epoch(room) or 0
        member_then = self.ledger.is_member(room, message.epoch, me)
        restorable = self.ledger.restorable(client.user, message, me)
        sender_now = self.ledger.is_member(room, latest, message.sender)
        read = (me, room, message.seq)
        live = delivery.tag != "history"
        if code is None:
            assert opened is not None
            if not (member_then or restorable):
                self.fail(client, delivery, "opened a message its incarnation was not a member of, nor its user's "
                          "backup held the key of")
            if opened.plaintext != message.text or (live and not sender_now):
                self.fail(client, delivery, "opened a wrong text, or live from a sender not in its newest epoch")
            self.ledger.read.add(read)
            return
        if delivery.tag == "stolen" and not member_then:
            allowed = {"E_UNKNOWN_KEY", "E_NOT_MEMBER"}  # a lost device or replaced keys: nothing after the rotation
        else:
            allowed = {"E_UNKNOWN_KEY", "E_UNKNOWN_SENDER", "E_WITHHELD"}
            allowed |= {"E_REPLAY"} if read in self.ledger.read else set()
            held = client.ring.epochs(room)
            # Not a member then, or it joined on a later epoch (the slices before lost): before its chain.
            before = not member_then or (bool(held) and message.epoch < held[0])
            allowed |= {"E_NOT_MEMBER", "E_DEVICE_TOO_NEW"} if before else set()
            allowed |= set() if sender_now or not live else {"E_UNAUTHORIZED"}
            allowed |= {"E_STALE"} if message.epoch <= latest - DEFAULT_LIVE_EPOCHS and live else set()
        if code not in allowed:
            self.fail(client, delivery, f"{code}, which nothing in the ground truth explains (allowed {sorted(allowed)})")
        if live and (code == "E_STALE" or (code in ("E_UNAUTHORIZED", "E_UNKNOWN_SENDER") and not sender_now)):
            self.refused_by_order.add(read)  # delivered after a later removal: the spec must refuse it live

    def dropped(self, client: Client, delivery: Delivery) -> None:
        """A parked message the device gave up as the store has no proof of its sender in its newest epoch."""
        if delivery.tag in FORGED:
            return
        message = self._truth(client, delivery)
        latest = client.ring.latest_epoch(message.room_id) or 0
        if self.ledger.is_member(message.room_id, latest, message.sender):
            self.fail(client, delivery, f"given up, its sender a member of epoch {latest}")
        self.refused_by_order.add((client.device, message.room_id, message.seq))

    def probe(self, client: Client, delivery: Delivery, *, restored: bool) -> None:
        """A stored message older than the device's first held epoch of its room: device-too-new before a
        restore of the room, not-a-member after it (spec/unreadable.md, step 1)."""
        try:
            client.ring.open(delivery.data, check_replay=False)
            error = None
        except DomviaError as failure:
            error = failure
        expected = "not-a-member" if restored else "device-too-new"
        cause = None if error is None else explain(error).cause
        self.codes[f"probe:{cause}"] += 1
        if cause != expected:
            self.fail(client, delivery, f"a message older than its chain gave cause {cause}, expected {expected}")

    def list_outcome(self, client: Client, tag: str, user_id: str, error: DomviaError | None) -> None:
        """A device list the device fetched (``tag``: honest, or how the adversary altered it)."""
        code = None if error is None else error.code
        self.codes[f"list:{tag}:{code or 'ok'}"] += 1
        if code not in LIST_CODES[tag]:
            self.fail_plain(f"{client.name} fetched {tag} list of {user_id}: {code}, expected {LIST_CODES[tag]}")
        for held in [client.ring.users.newest(u.user_id) for u in client.ring.users.users()]:
            if held is not None and held.digest not in self.ledger.lists:
                self.fail_plain(f"{client.name} holds a list of {held.user_id} its user never signed")

    def handed(self, client: Client, epochs: Sequence[tuple[str, int]]) -> None:
        """Keys a device put in a stored backup chunk or a sibling share: only of its user's epochs."""
        for room, epoch in epochs:
            if not self.ledger.user_member(room, epoch, client.user):
                self.fail_plain(f"{client.name} backed up the key of {room} epoch {epoch}, its user not a member")
        if client.user is not None:
            self.ledger.handed.setdefault(client.user, set()).update(epochs)

    def restored(self, client: Client, report: RestoreReport, injected: Sequence[str], *, share: bool = False) -> None:
        """A restore's report: injected chunks refused (E_UNAUTHORIZED), and only chunks of gone devices beside."""
        self.codes[f"restore:rooms:{len(report.rooms)}"] += 0
        for name in injected:
            if f"{name}: E_UNAUTHORIZED" not in report.refused_chunks:
                self.fail_plain(f"{client.name} restored an injected chunk {name}: {report.refused_chunks}")
        gone = {d[0] for d in self.ledger.gone}
        for refused in report.refused_chunks:
            self.codes[f"restore:chunk:{refused.split(': ')[1]}"] += 1
            if share and refused.endswith("E_AUTH"):
                continue  # a share for the device id's older keys, arriving after a re-key
            if refused.split("#")[0] not in gone and refused.split(": ")[0] not in injected:
                self.fail_plain(f"{client.name} refused a chunk of a listed device: {refused}")
        for room, code in report.refused_rooms.items():
            self.codes[f"restore:room:{code}"] += 1
            if code != "E_AUTH":  # a backup that does not reach the chain held yet: restore again later
                self.fail_plain(f"{client.name} refused room {room} of its backup: {code}")
        client.restored |= set(report.rooms)
