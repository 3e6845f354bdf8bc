"""A room's whole life over an in-process relay: what the relay sees beside what members read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import DomviaError
from .identity import Identity
from .keyring import KeyRing
from .message import SealedMessage
from .room import Room

ROOM = "room-42"
Say = Callable[[str], None]


@dataclass
class Relay:
    """Stands in for the realtime relay and the product database: it stores and forwards bytes."""

    say: Say
    log: list[bytes] = field(default_factory=list)

    def publish(self, channel: str, payload: bytes) -> bytes:
        self.log.append(payload)
        seen = json.loads(payload)
        self.say(f"  relay  sees on {channel}: epoch={seen['e']} sender={seen['u']} id={seen['m']} "
                 f"type={seen['t']} ciphertext={seen['c'][:16]}… ({len(payload)} bytes of JSON)")
        return payload


def _read(ring: KeyRing, payload: bytes, say: Say) -> None:
    name = ring.owner.participant_id
    try:
        opened = ring.open(payload, check_replay=False)
        say(f"  {name:<6} reads {opened.plaintext.decode()!r} from {opened.sender_id} (epoch {opened.epoch})")
    except DomviaError as error:
        say(f"  {name:<6} cannot read it: {error.code} ({error})")


def _send(ring: KeyRing, relay: Relay, message_id: str, text: str) -> bytes:
    sealed: SealedMessage = ring.seal(ROOM, text.encode(), message_id=message_id)
    return relay.publish(f"private-chat.room.{ROOM}", sealed.to_json())


def run(say: Say = print) -> None:
    people = {name: Identity.generate(name) for name in ("alice", "bob", "carol", "dave")}
    rings = {name: KeyRing(identity) for name, identity in people.items()}
    for ring in rings.values():
        for identity in people.values():
            if identity is not ring.owner:
                ring.add_identity(identity.public)
        ring.trust_admin(ROOM, people["alice"].public)  # the inviter, checked out of band
    relay = Relay(say)

    say("1. alice creates the room with bob and carol (epoch 1)")
    room, rotation = Room.create(rings["alice"], ROOM, [people["bob"].public, people["carol"].public])
    for name in ("bob", "carol"):
        rings[name].accept(rotation.bundle.to_bytes())
    say(f"  bundle: {len(rotation.bundle.to_bytes())} bytes, signed by alice; "
        f"alice's safety number {people['alice'].public.safety_number}")

    say("2. chat")
    first = _send(rings["bob"], relay, "msg-1", "hi all, the launch is on Friday")
    for name in ("alice", "carol"):
        _read(rings[name], first, say)

    say("3. a tampered message is refused")
    tampered = json.loads(first)
    tampered["m"] = "msg-999"
    _read(rings["alice"], json.dumps(tampered).encode(), say)

    say("4. alice removes carol: the room rotates to epoch 2")
    rotation = room.remove(["carol"])
    rings["bob"].accept(rotation.bundle.slice_for("bob").to_bytes())
    rings["bob"].accept(rotation.bundle.to_bytes())
    try:
        rings["carol"].accept(rotation.bundle.to_bytes())
    except DomviaError as error:
        say(f"  carol's client rejects the new bundle: {error.code}")
    second = _send(rings["alice"], relay, "msg-2", "carol is gone; new budget is 40k")
    for name in ("bob", "carol"):
        _read(rings[name], second, say)

    say("5. dave joins: the room rotates to epoch 3, history is not shared")
    rotation = room.add([people["dave"].public])
    for name in ("bob", "dave"):
        rings[name].accept(rotation.bundle.to_bytes())
    _read(rings["dave"], first, say)
    _read(rings["dave"], second, say)
    third = _send(rings["dave"], relay, "msg-3", "hello, dave here")
    for name in ("alice", "bob", "carol"):
        _read(rings[name], third, say)

    say(f"6. the relay stored {len(relay.log)} payloads and holds no key; rotation due: "
        f"{room.rotation_due() or 'no'}")
