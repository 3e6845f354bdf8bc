"""The checks run on every delivery a client handles: what it opened, and why anything failed.

Codes are checked against their cause as spec/errors.md and spec/keyring.md ("Opening") state it:
an honest message fails only for a reason the ground truth confirms (not a member of the epoch, the
sender no longer in the client's newest epoch, an epoch out of the replay window, a replay of a
message already read) or transiently (E_UNKNOWN_KEY, E_UNKNOWN_SENDER); a forgery only with the codes
of ledger.FORGED, and it never opens, except a removed member's message at a client that has not yet
learnt of the removal (its newest epoch still lists the sender: the spec cannot refuse it there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..group.replay import DEFAULT_LIVE_EPOCHS
from ..sealing import OpenedMessage
from .client import Client, Delivery
from .ledger import FORGED, InvariantError, Ledger

EPOCH_ITEM_CODES = frozenset({"E_STALE", "E_GAP", "E_UNKNOWN_KEY"})  # held already, ahead, proof of an epoch ahead


@dataclass
class Checker:
    """Runs the checks; ``where`` names the seed and event for a failure. Counts every outcome."""

    ledger: Ledger
    where: str = ""
    codes: Counter[str] = field(default_factory=Counter)
    refused_by_order: set[tuple[str, str, int]] = field(default_factory=set)
    removed_opened_before_removal: int = 0

    def fail(self, client: Client, delivery: Delivery, detail: str) -> None:
        """Raises InvariantError naming the seed, the event, the client and the delivery."""
        raise InvariantError(f"{self.where}: {client.name} got {delivery.tag} {delivery.kind} of room "
                             f"{delivery.room_id} epoch {delivery.epoch} seq {delivery.seq}: {detail}")

    def observe(self, client: Client, delivery: Delivery, code: str | None, opened: OpenedMessage | None) -> None:
        """The outcome of one accept or open by ``client``."""
        self.codes[f"{delivery.tag}:{delivery.kind}:{code or 'ok'}"] += 1
        if delivery.tag in FORGED:
            self._forged(client, delivery, code, opened)
        elif delivery.kind == "message":
            self._honest_message(client, delivery, code, opened)
        elif code is not None and code not in EPOCH_ITEM_CODES:
            self.fail(client, delivery, f"a genuine {delivery.kind} failed with {code}")

    def _forged(self, client: Client, delivery: Delivery, code: str | None, opened: OpenedMessage | None) -> None:
        if code is None:
            if delivery.tag != "removed-sender" or opened is None:
                self.fail(client, delivery, "a forgery was accepted")
            assert opened is not None
            latest = client.ring.latest_epoch(delivery.room_id) or 0
            if not self.ledger.is_member(delivery.room_id, latest, opened.sender_id):
                self.fail(client, delivery, f"opened a removed member's message while holding epoch {latest}")
            self.removed_opened_before_removal += 1
        elif code not in FORGED[delivery.tag]:
            self.fail(client, delivery, f"{code} is not a cause of this forgery (expected {sorted(FORGED[delivery.tag])})")

    def _honest_message(self, client: Client, delivery: Delivery, code: str | None,
                        opened: OpenedMessage | None) -> None:
        key = self.ledger.by_wire.get(delivery.data)
        if key is None:
            self.fail(client, delivery, "a message the store never logged")
        assert key is not None
        message = self.ledger.messages[key]
        latest = client.ring.latest_epoch(message.room_id) or 0
        member_then = self.ledger.is_member(message.room_id, message.epoch, client.name)
        sender_now = self.ledger.is_member(message.room_id, latest, message.sender)
        read = (client.name, message.room_id, message.seq)
        if code is None:
            assert opened is not None
            if not member_then:
                self.fail(client, delivery, "opened a message of an epoch it was not a member of")
            if opened.plaintext != message.text or not sender_now:
                self.fail(client, delivery, "opened a wrong text, or live from a sender not in its newest epoch")
            self.ledger.read.add(read)
            return
        allowed = {"E_UNKNOWN_KEY", "E_UNKNOWN_SENDER"}
        allowed |= {"E_REPLAY"} if read in self.ledger.read else set()
        allowed |= set() if member_then else {"E_NOT_MEMBER"}
        allowed |= set() if sender_now else {"E_UNAUTHORIZED"}
        allowed |= {"E_STALE"} if message.epoch <= latest - DEFAULT_LIVE_EPOCHS else set()
        if code not in allowed:
            self.fail(client, delivery, f"{code}, which nothing in the ground truth explains (allowed {sorted(allowed)})")
        by_order = code == "E_STALE" or (code in ("E_UNAUTHORIZED", "E_UNKNOWN_SENDER") and not sender_now)
        if by_order and self.ledger.entitled(client.name, message):
            self.refused_by_order.add(read)  # delivered after a later removal: the spec must refuse it live
