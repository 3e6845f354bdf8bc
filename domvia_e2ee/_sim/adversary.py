"""The malicious server: it withholds, reorders and replays what sync returns, and injects forgeries.

Forgeries are the attacks of spec/threat-model.md that a server (with the identities of ordinary
members, but no admin's key) can build: an epoch signed by a non-admin, a member's slice handed to
another, a tampered ciphertext, and a message a removed member seals under a key it still holds.
Withholding and reordering are denial of service: clients must heal from them once it stops.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..group.bundle import Bundle, Plan, build_bundle
from ..keys import RoomKey
from ..message import SealedMessage
from ..sealing import seal
from ..store import ServerStore, SyncBatch, SyncItem
from .client import Client, Delivery

EPOCH_KINDS = ("slice", "announcement", "member_proof")


@dataclass
class Adversary:
    """Alters one sync batch in ``tamper_rate`` of calls; ``forge`` builds one injected delivery."""

    rng: random.Random
    tamper_rate: float = 0.2
    seen: dict[str, list[SyncItem]] = field(default_factory=dict)   # per client, items served before

    def alter(self, client: str, batch: SyncBatch) -> SyncBatch:
        """Withholds an epoch or proof, moves an epoch to the end, or replays an old item."""
        items = list(batch.items)
        past = self.seen.setdefault(client, [])
        past.extend(items)
        del past[:-64]
        if not items or self.rng.random() >= self.tamper_rate:
            return batch
        choice = self.rng.randrange(3)
        keyed = [i for i, item in enumerate(items) if item.kind in EPOCH_KINDS]
        if choice == 0 and keyed:
            del items[self.rng.choice(keyed)]
        elif choice == 1 and keyed:
            items.append(items.pop(self.rng.choice(keyed)))
        elif past:
            items.insert(self.rng.randrange(len(items) + 1), self.rng.choice(past))
        return dataclasses.replace(batch, items=tuple(items))

    def forge(self, store: ServerStore, target: Client, clients: Sequence[Client], room_id: str) -> Delivery | None:
        """One forged delivery for ``target`` in ``room_id``, or None if this one cannot be built now."""
        kind = self.rng.choice(("forged-bundle", "other-slice", "tampered", "removed-sender"))
        if kind == "forged-bundle":
            return self._forged_bundle(target, clients, room_id)
        if kind == "other-slice":
            return self._other_slice(store, target, room_id)
        if kind == "tampered":
            return self._tampered(store, room_id)
        return self._removed_sender(store, clients, room_id)

    def _forged_bundle(self, target: Client, clients: Sequence[Client], room_id: str) -> Delivery | None:
        if target.ring.latest_epoch(room_id) is None:
            return None
        header = target.ring.header(room_id)
        forger = self.rng.choice([c for c in clients if not header.is_admin(c.name, c.identity.public.fingerprint)])
        members = {forger.name: forger.identity.public, target.name: target.identity.public}
        key = RoomKey.generate(room_id=room_id, epoch=header.epoch + 1, suite=header.suite)
        bundle = build_bundle(forger.identity, key, list(members.values()), kem=header.kem, issued_at=0,
                              plan=Plan(header.epoch_hash(), header.policy, header.admins))
        return Delivery("forged-bundle", "slice", room_id, 0, key.epoch, bundle.slice_for(target.name).to_bytes())

    def _other_slice(self, store: ServerStore, target: Client, room_id: str) -> Delivery | None:
        epoch = store.latest_epoch(room_id)
        data = None if epoch is None else store.chain_bundle(room_id, epoch)
        if data is None:
            return None
        bundle = Bundle.from_bytes(data)
        others = [m.participant_id for m in bundle.members if m.participant_id != target.name]
        if not others:
            return None
        piece = bundle.slice_for(self.rng.choice(others)).to_bytes()
        return Delivery("other-slice", "slice", room_id, 0, bundle.header.epoch, piece)

    def _tampered(self, store: ServerStore, room_id: str) -> Delivery | None:
        epoch = store.latest_epoch(room_id) or 1
        stored = store.messages(room_id, epoch=epoch, limit=50)
        if not stored:
            return None
        seq, wire = self.rng.choice(stored)
        sealed = SealedMessage.parse(wire)
        at = sealed.header_size + len(sealed.nonce) + self.rng.randrange(len(sealed.ciphertext))
        flipped = wire[:at] + bytes([wire[at] ^ (1 << self.rng.randrange(8))]) + wire[at + 1:]
        return Delivery("tampered", "message", room_id, seq, sealed.epoch, flipped)

    def _removed_sender(self, store: ServerStore, clients: Sequence[Client], room_id: str) -> Delivery | None:
        latest = store.latest_epoch(room_id)
        current = set() if latest is None else {m for m in _members(store, room_id, latest)}
        removed = [c for c in clients if c.name not in current and c.ring.latest_epoch(room_id) is not None]
        if not removed:
            return None
        sender = self.rng.choice(removed)
        keyed = [sender.ring.record(room_id, e).key for e in sender.ring.epochs(room_id)]
        keys = [k for k in keyed if k is not None]
        if not keys:
            return None
        key = keys[-1]
        sealed = seal(key, b"a removed member speaks", message_id=f"m-forged-{self.rng.getrandbits(48)}",
                      sender=sender.identity)
        return Delivery("removed-sender", "message", room_id, 0, key.epoch, sealed.to_bytes())


def _members(store: ServerStore, room_id: str, epoch: int) -> list[str]:
    data = store.chain_bundle(room_id, epoch)
    return [] if data is None else [m.participant_id for m in Bundle.from_bytes(data).members]
