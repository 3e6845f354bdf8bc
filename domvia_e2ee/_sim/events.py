"""The World's events: devices send, admins change rooms, devices go offline, the server injects forgeries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import DomviaError
from .client import Delivery
from .ledger import Message

if TYPE_CHECKING:
    from .world import World


def send(world: World) -> None:
    """A device online sends in one of its rooms; its current members are pushed it; a thief may see it."""
    sender = world.rng.choice([c for c in world.clients.values() if not c.lost])
    rooms = sender.ring.rooms()
    if not sender.online or not rooms:
        return
    room_id = world.rng.choice(rooms)
    text = b"%s says %d" % (sender.name.encode(), world.event)
    try:
        sealed = sender.ring.seal(room_id, text)
    except DomviaError:
        return  # not a member any more, or a rotation is due (a device left its user's list)
    seq = world.store.put_message(sealed.to_bytes())
    world.ledger.message_stored(Message(room_id, seq, sealed.epoch, sender.device, text), sealed.wire)
    current = world.ledger.rooms[room_id].members[world.ledger.rooms[room_id].latest]
    delivery = Delivery("honest", "message", room_id, seq, sealed.epoch, sealed.wire)
    for client in world.clients.values():
        if client.device in current and client is not sender:
            world.push(client, delivery)
    thieves = [c for c in world.clients.values() if c.lost] + world.thieves
    if thieves and world.rng.random() < 0.3:  # a thief holding a lost device or leaked keys sees the ciphertext
        world.rng.choice(thieves).attempt(Delivery("stolen", "message", room_id, seq, sealed.epoch, sealed.wire),
                                         world, live=False)


def change_room(world: World) -> None:
    """A room's admin adds a user, removes one, or rotates."""
    room_id = world.rng.choice(sorted(world.ledger.rooms))
    admin = world.clients[world.ledger.rooms[room_id].admin]
    if not admin.online:
        return
    room = admin.rooms[room_id]
    outside = sorted(u for u in world.users if u not in room.users)
    inside = sorted(u for u in room.users if u != admin.user)
    roll = world.rng.random()
    try:
        if roll < 0.45 and outside:
            rotation = room.add_users([world.rng.choice(outside)])
        elif roll < 0.9 and inside:
            rotation = room.remove_users([world.rng.choice(inside)])
        else:
            rotation = room.rotate()
    except DomviaError:
        return  # e.g. a joining user's newest list names a device whose identity the admin lacks
    world.publish_rotation(room_id, room, rotation)


def go_offline(world: World) -> None:
    """A device goes offline for a long while (its realtime deliveries are lost)."""
    client = world.rng.choice(list(world.clients.values()))
    if client.online:
        client.online = False
        world.offline_until[client.name] = world.tick + world.rng.choice((50, 200, 800, 2000))


def inject(world: World) -> None:
    """The malicious server injects a forgery at a device."""
    assert world.adversary is not None
    target = world.rng.choice(world.online() or list(world.clients.values()))
    forged = world.adversary.forge(world.store, target, list(world.clients.values()),
                                  world.rng.choice(sorted(world.ledger.rooms)), world.identities)
    if forged is not None:
        world.relay.send(world.tick, target.name, forged)
