"""Key backups in the simulation (spec/backup.md): devices back up what they accept to their user's backup
(chunks in the store's backup_chunks table, mark_backed_up after the put), a device that needs its user's
history restores it with the recovery key (no other device needed) or is given a sibling's share, and then
reads the stored messages of the epochs it got, as stored history. A retention policy forgets old keys
(after backing up) and a restore heals it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import DomviaError
from ..users.backup import accept_sibling_share, back_up, restore, share_with_sibling
from ..users.backup_info import BackupInfo
from ..users.restore import RestoreReport
from .client import Client, Delivery

if TYPE_CHECKING:
    from .world import World

INFO_DEVICE = "backup-info"  # the backup_chunks row (user, INFO_DEVICE, version) holding the signed BackupInfo

FAR_FUTURE = 1 << 40  # "now" for the retention policy: every epoch but each room's latest is old


def last_seq(world: World, user_id: str, device_id: str) -> int:
    """The last backup chunk the store shows for a device (0: none)."""
    rows = world.store.backup_chunks(user_id, device_id, after=-1, limit=10_000)
    return rows[-1][0] if rows else 0


def back_up_device(world: World, client: Client) -> None:
    """Seals what the device has not backed up and stores it; a lost device (a thief) may try too."""
    if client.user is None:
        return
    user = world.users[client.user]
    try:
        chunks = back_up(client.ring, user.info, first_seq=last_seq(world, user.user_id, client.name) + 1)
    except DomviaError as error:
        world.checker.fail_plain(f"{client.name} could not back up: {error.code} {error}")
        return
    for pending in chunks:
        world.store.put_backup_chunk(user.user_id, client.name, pending.chunk.seq, pending.chunk.to_bytes())
        client.ring.mark_backed_up(pending.pending)
        if not client.lost:
            world.checker.handed(client, [(room, r.epoch) for room, r in pending.pending if r.key is not None])


def forget(world: World, client: Client) -> None:
    """The retention policy: back up first, then forget every key but each room's latest."""
    back_up_device(world, client)
    if client.ring.forget_keys_older_than(0, now=FAR_FUTURE):
        client.needs_history = True


def stored_chunks(world: World, user_id: str) -> list[bytes]:
    """Every chunk the store holds for the user's devices (every id the user ever listed)."""
    user = world.users[user_id]
    return [blob for device in sorted(user.ever) for _, blob in world.store.backup_chunks(user_id, device, limit=10_000)]


def restore_device(world: World, client: Client) -> None:
    """Restores the user's backup (the server may withhold and inject chunks) and reads the history it brings."""
    client.restore_wanted = False
    if client.user is None or not client.restores or client.lost:  # a thief does not know the recovery key
        return
    user = world.users[client.user]
    stored = world.store.backup_chunks(user.user_id, INFO_DEVICE, limit=10_000)
    info = BackupInfo.from_bytes(stored[-1][1])
    chunks, injected = stored_chunks(world, user.user_id), list[str]()
    if world.adversary is not None:
        chunks, injected = world.adversary.alter_chunks(client, user, chunks)
    for room_id in client.ring.rooms():
        if room_id not in client.restored:
            _probe(world, client, room_id, restored=False)
    before = _keyed(client)
    report = restore(client.ring, chunks, info, recovery_key=user.recovery)
    world.checker.restored(client, report, injected)
    read_history(world, client, report, before)
    client.unshelve()
    for room_id, records in report.rooms.items():
        latest = client.ring.latest_epoch(room_id) or 0
        if records and records[-1].epoch > latest and client.restore_marks.get(room_id) != latest:
            client.restore_marks[room_id] = latest  # once per newest held epoch: no loop if the fetch fails
            # backup.md step 7 leaves epochs after the newest held to live delivery, but the store serves a room
            # only to device ids that were members of it: fetch them (keyless), then restore their keys again.
            world.request_epochs(client, room_id, latest + 1, records[-1].epoch)
            client.restore_wanted = True


def offer_share(world: World, client: Client) -> None:
    """A sibling online may hand the new device what it holds (through the relay: it can be lost)."""
    if client.user is None or world.rng.random() < 0.5:
        return
    siblings = [c for c in world.clients.values() if c.user == client.user and c is not client and c.online
                and not c.lost and c.ring.rooms()]
    if not siblings:
        return
    sibling = world.rng.choice(siblings)
    sibling.ring.add_device_list(world.users[client.user].lists[-1], [client.identity.public])
    world.checker.handed(sibling, [(room, e) for room in sibling.ring.rooms() for e in sibling.ring.epochs(room)
                                   if sibling.ring.record(room, e).key is not None])
    for chunk in share_with_sibling(sibling.ring, client.identity.public, seq=1):
        world.relay.send(world.tick, client.name, Delivery("honest", "share", "", 0, 0, chunk.to_bytes()))


def accept_share(world: World, client: Client, data: bytes) -> None:
    """A sibling's share arrived: verified as a restore is, then the history it brings is read."""
    before = _keyed(client)
    report = accept_sibling_share(client.ring, [data])
    world.checker.restored(client, report, [], share=True)
    read_history(world, client, report, before)


def _keyed(client: Client) -> set[tuple[str, int]]:
    return {(room, e) for room in client.ring.rooms() for e in client.ring.epochs(room)
            if client.ring.record(room, e).key is not None}


def read_history(world: World, client: Client, report: RestoreReport, before: set[tuple[str, int]]) -> None:
    """Opens the stored messages of every epoch whose key the restore brought (as stored history; the member
    proofs of their senders fetched from the store), and probes one message older than the chain."""
    me = client.device
    for room_id, records in report.rooms.items():
        for record in records:
            if record.key is None:  # (an epoch keyed before is read again: messages may have come since)
                continue
            for seq, wire in world.store.messages(room_id, epoch=record.epoch, limit=10_000):
                if (me, room_id, seq) not in world.ledger.read:
                    _open_history(world, client, Delivery("history", "message", room_id, seq, record.epoch, wire))
        _probe(world, client, room_id, restored=True)


def _probe(world: World, client: Client, room_id: str, *, restored: bool) -> None:
    first = client.ring.epochs(room_id)[0]
    if first > 1:
        epoch = world.rng.randrange(1, first)
        older = world.store.messages(room_id, epoch=epoch, limit=1)
        if older:
            seq, wire = older[0]
            world.checker.probe(client, Delivery("history", "message", room_id, seq, epoch, wire), restored=restored)


def _open_history(world: World, client: Client, delivery: Delivery) -> None:
    from ..message import SealedMessage

    if client.attempt(delivery, world, live=False) == "E_UNKNOWN_SENDER":
        sender = SealedMessage.parse(delivery.data).sender_id
        proof = world.store.member_proof(delivery.room_id, delivery.epoch, sender)
        if proof is not None:
            client.attempt(Delivery("honest", "member_proof", delivery.room_id, 0, delivery.epoch, proof), world)
            client.attempt(delivery, world, live=False)
