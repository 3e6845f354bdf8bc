"""The malicious server: it withholds, reorders and replays what sync returns, and injects forgeries.

Forgeries are the attacks of spec/threat-model.md that a server (with the identities of ordinary
members, but no admin's or user's key) can build: an epoch signed by a non-admin, a member's slice handed
to another, a tampered ciphertext, a message a removed member seals under a key it still holds; for device
lists, an older list, another user's list, a list signed by a key of its own; for backups, a chunk signed
by a device that is not on the user's list, and withheld chunks. Withholding and reordering are denial of
service: clients must heal from them once it stops.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from dataclasses import dataclass, field

from ..group.bundle import Bundle, Plan, build_bundle
from ..identity import Identity, PublicIdentity
from ..keys import RoomKey
from ..users.backup_chunk import seal_chunk
from ..users.backup_entries import BackupEntry
from ..users.device_list import sign_device_list
from ..users.user_key import UserKey
from ..message import SealedMessage
from ..sealing import seal
from ..store import ServerStore, SyncBatch, SyncItem
from .client import Client, Delivery

if TYPE_CHECKING:
    from .users import SimUser

EPOCH_KINDS = ("slice", "announcement", "member_proof")


@dataclass
class Adversary:
    """Alters one sync batch in ``tamper_rate`` of calls; ``forge`` builds one injected delivery."""

    rng: random.Random
    tamper_rate: float = 0.2
    seen: dict[str, list[SyncItem]] = field(default_factory=dict)   # per client, items served before

    def alter(self, client: str, batch: SyncBatch, held: Sequence[str] = ()) -> SyncBatch:
        """Withholds an epoch or proof, moves an epoch to the end, or replays an old item. It does not withhold
        nor move the epochs of a room the device holds nothing of (``held``: the rooms it holds): the device
        would join on a later epoch, and nothing in the protocol brings it the earlier ones afterwards."""
        items = list(batch.items)
        past = self.seen.setdefault(client, [])
        past.extend(items)
        del past[:-64]
        if not items or self.rng.random() >= self.tamper_rate:
            return batch
        choice = self.rng.randrange(3)
        keyed = [i for i, item in enumerate(items) if item.kind in EPOCH_KINDS and item.room_id in held]
        if choice == 0 and keyed:
            del items[self.rng.choice(keyed)]
        elif choice == 1 and keyed:
            items.append(items.pop(self.rng.choice(keyed)))
        elif past:
            items.insert(self.rng.randrange(len(items) + 1), self.rng.choice(past))
        return dataclasses.replace(batch, items=tuple(items))

    def forge(self, store: ServerStore, target: Client, clients: Sequence[Client], room_id: str,
              identities: Mapping[tuple[str, bytes], PublicIdentity]) -> Delivery | None:
        """One forged delivery for ``target`` in ``room_id``, or None if this one cannot be built now."""
        kind = self.rng.choice(("forged-bundle", "other-slice", "tampered", "removed-sender"))
        if kind == "forged-bundle":
            return self._forged_bundle(target, clients, room_id, identities)
        if kind == "other-slice":
            return self._other_slice(store, target, room_id)
        if kind == "tampered":
            return self._tampered(store, room_id)
        return self._removed_sender(store, clients, room_id)

    def _forged_bundle(self, target: Client, clients: Sequence[Client], room_id: str,
                       identities: Mapping[tuple[str, bytes], PublicIdentity]) -> Delivery | None:
        """An epoch signed by a device that is no admin, wrapping to every device of its user and the target's."""
        if target.ring.latest_epoch(room_id) is None or target.user is None:
            return None
        header = target.ring.header(room_id)
        forgers = [c for c in clients if c.user is not None and not c.lost
                   and not header.is_admin(c.name, c.identity.public.fingerprint)]
        if not forgers:
            return None
        forger = self.rng.choice(forgers)
        lists = {u: held for u in {forger.user or "", target.user} if (held := target.ring.users.newest(u)) is not None}
        members = {d.device_id: identities[(d.device_id, d.fingerprint)] for held in lists.values() for d in held.devices}
        if forger.name not in members or members[forger.name] != forger.identity.public:
            return None
        key = RoomKey.generate(room_id=room_id, epoch=header.epoch + 1, suite=header.suite)
        bundle = build_bundle(forger.identity, key, list(members.values()), kem=header.kem, issued_at=0,
                              plan=Plan(header.epoch_hash(), header.policy, header.admins),
                              lists=[lists[u] for u in sorted(lists)])
        if target.name not in members:
            return None
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


    def alter_list(self, client: Client, user: SimUser, users: Mapping[str, SimUser], data: bytes) -> tuple[str, bytes]:
        """Serves the stored newest list, or in ``tamper_rate`` / 2 of fetches an older one (when the device holds
        a newer), another user's, or one signed by a user key of the server's own."""
        if self.rng.random() >= self.tamper_rate / 2:
            return "honest", data
        held = client.ring.users.newest(user.user_id)
        kind = self.rng.choice(("old-list", "other-user", "forged-list"))
        if kind == "old-list" and held is not None and held.version >= 2:
            return kind, user.lists[self.rng.randrange(held.version - 1)].to_bytes()
        if kind == "other-user":
            other = self.rng.choice([u for u in users.values() if u is not user] or [user])
            return kind, other.lists[-1].to_bytes()
        fake = UserKey(user.user_id, seed=self.rng.randbytes(32))
        devices = [Identity(f"{user.user_id}/evil", x25519_private=self.rng.randbytes(32),
                            ed25519_seed=self.rng.randbytes(32)).public]
        return "forged-list", sign_device_list(fake, version=(held.version if held else 0) + 1, devices=devices,
                                               issued_at=0).to_bytes()

    def alter_chunks(self, client: Client, user: SimUser, chunks: list[bytes]) -> tuple[list[bytes], list[str]]:
        """In ``tamper_rate`` of restores: withholds a chunk, and injects one signed by a device not on the list
        (its key of an epoch the device holds replaced). Returns the chunks and the injected ones' names."""
        if self.rng.random() >= self.tamper_rate or not chunks:
            return chunks, []
        chunks = list(chunks)
        del chunks[self.rng.randrange(len(chunks))]
        rooms = client.ring.rooms()
        if not rooms:
            return chunks, []
        room = self.rng.choice(rooms)
        record = client.ring.record(room, self.rng.choice(client.ring.epochs(room)))
        entry = dataclasses.replace(BackupEntry.of(room, record), secret=self.rng.randbytes(32))
        evil = Identity(f"{user.user_id}/evil", x25519_private=self.rng.randbytes(32), ed25519_seed=self.rng.randbytes(32))
        seq = self.rng.randrange(1, 1000)
        forged = seal_chunk(evil, user.user_id, seq, [entry], backup_public=user.info.public,
                            recipient_key_id=user.info.key_id)
        chunks.insert(self.rng.randrange(len(chunks) + 1), forged.to_bytes())
        return chunks, [f"{evil.participant_id}#{seq}"]


def _members(store: ServerStore, room_id: str, epoch: int) -> list[str]:
    data = store.chain_bundle(room_id, epoch)
    return [] if data is None else [m.participant_id for m in Bundle.from_bytes(data).members]
