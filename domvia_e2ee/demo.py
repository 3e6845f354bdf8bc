"""A room's whole life over an in-process relay: what the relay sees beside what members read.

`story()` plays it and returns the steps; `render()` lays them out in two columns; `run()`
prints them. The shape (steps, lines, outcomes) is the same on every run; only the random
bytes (keys, nonces, ciphertexts, safety numbers) differ.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import DomviaError
from .identity import Identity
from .group.bundle import Plan, build_bundle
from .group.keyring import KeyRing
from .group.room import Room
from .keys import RoomKey
from .wrap import WrapKem
from .demo_devices import devices

ROOM: Final = "room-42"
CHANNEL: Final = f"private-chat.room.{ROOM}"
LEFT: Final = 46
Say = Callable[[str], None]


@dataclass
class Step:
    """One moment of the story: what happened, what the relay saw, what each member read."""

    title: str
    notes: list[str] = field(default_factory=list)
    relay: list[dict[str, Any]] = field(default_factory=list)
    reads: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Relay:
    """Stands in for the realtime relay and the product database: it stores and forwards bytes."""

    log: list[bytes] = field(default_factory=list)

    def publish(self, step: Step, payload: bytes) -> bytes:
        self.log.append(payload)
        seen = json.loads(payload)
        step.relay.append({"channel": CHANNEL, "epoch": seen["e"], "sender": seen["u"], "message_id": seen["m"],
                           "content_type": seen["t"], "key_id": seen["k"], "ciphertext": seen["c"],
                           "bytes": len(payload)})
        return payload


class Life:
    """The participants, their key rings, the room and the relay, driven step by step."""

    def __init__(self) -> None:
        self.people = {name: Identity.generate(name) for name in ("alice", "bob", "carol", "dave")}
        self.rings = {name: KeyRing(identity) for name, identity in self.people.items()}
        for ring in self.rings.values():
            for identity in self.people.values():
                if identity is not ring.owner:
                    ring.add_identity(identity.public)
            ring.trust_admin(ROOM, self.people["alice"].public)  # the inviter, checked out of band
        self.relay = Relay()
        self.steps: list[Step] = []

    def step(self, title: str) -> Step:
        self.steps.append(Step(f"{len(self.steps) + 1}. {title}"))
        return self.steps[-1]

    def send(self, step: Step, sender: str, message_id: str, text: str) -> bytes:
        sealed = self.rings[sender].seal(ROOM, text.encode(), message_id=message_id)
        return self.relay.publish(step, sealed.to_json().encode())

    def read(self, step: Step, name: str, payload: bytes, *, replay_check: bool = False) -> None:
        message_id = json.loads(payload)["m"]
        try:
            opened = self.rings[name].open(payload, check_replay=replay_check)
            step.reads.append({"member": name, "message_id": message_id, "ok": True,
                               "text": opened.plaintext.decode(), "sender": opened.sender_id, "epoch": opened.epoch})
        except DomviaError as error:
            step.reads.append({"member": name, "message_id": message_id, "ok": False, "code": error.code,
                               "error": str(error)})

    def accept(self, step: Step, name: str, data: bytes, what: str) -> None:
        try:
            accepted = self.rings[name].accept(data)
            held = "no key: not a member of it" if accepted.kind == "link" else "key held"
            step.notes.append(f"{name} accepts the {what} ({len(data)} bytes): epoch {accepted.epochs[0]} ({held})")
        except DomviaError as error:
            step.notes.append(f"{name}'s client rejects the {what}: {error.code}")


def story() -> list[Step]:
    life = Life()
    room = _create(life)
    first = _chat(life)
    _tamper(life, first)
    second = _remove(life, room)
    _join(life, room, first, second)
    devices(life, room)
    life.step("what the relay holds").notes.append(
        f"{len(life.relay.log)} sealed payloads, no key, no plaintext; alice's view: epoch {room.epoch}, "
        f"members {', '.join(sorted(room.members))}, rotation due: {', '.join(room.rotation_due()) or 'no'}")
    return life.steps


def _create(life: Life) -> Room:
    step = life.step("alice creates the room with bob and carol: epoch 1")
    room, rotation = Room.create(life.rings["alice"], ROOM, [life.people["bob"].public, life.people["carol"].public])
    step.notes.append(f"alice signs a bundle wrapping the epoch-1 key to each member; her safety number "
                      f"{life.people['alice'].public.safety_number} is checked out of band")
    life.accept(step, "bob", rotation.bundle.slice_for("bob").to_bytes(), "slice for him")
    life.accept(step, "carol", rotation.bundle.to_bytes(), "whole bundle")
    return room


def _chat(life: Life) -> bytes:
    step = life.step("bob writes to the room")
    first = life.send(step, "bob", "msg-1", "hi all, the launch is on Friday")
    for name in ("alice", "carol"):
        life.read(step, name, first)
    return first


def _tamper(life: Life, first: bytes) -> None:
    step = life.step("the relay changes the message id of bob's message")
    tampered = json.loads(first)
    tampered["m"] = "msg-9"  # same length: the relay shows the bytes it would carry, one id changed
    payload = life.relay.publish(step, json.dumps(tampered, separators=(",", ":")).encode())
    life.relay.log.pop()  # not stored: it was never a real message
    life.read(step, "alice", payload)


def _carol_forges(life: Life, room: Room) -> None:
    """A member about to be removed tries to make itself unremovable: only admins may sign an epoch."""
    step = life.step("carol, about to be removed, signs an epoch 2 of her own that keeps her in")
    ring = life.rings["carol"]
    previous = ring.record(ROOM, 1)
    key = RoomKey.generate(room_id=ROOM, epoch=2)
    plan = Plan(previous.header.epoch_hash(), previous.header.policy, previous.header.admins)
    forged = build_bundle(life.people["carol"], key, list(room.members.values()), kem=WrapKem.X25519,
                          issued_at=int(time.time()), plan=plan)
    for name in ("alice", "bob"):
        life.accept(step, name, forged.to_bytes(), "bundle signed by carol")


def _remove(life: Life, room: Room) -> bytes:
    _carol_forges(life, room)
    step = life.step("alice removes carol: the room rotates to epoch 2")
    rotation = room.remove(["carol"])
    life.accept(step, "bob", rotation.bundle.to_bytes(), "new bundle")
    life.accept(step, "carol", rotation.announcement().to_bytes(), "announcement of epoch 2")
    second = life.send(step, "alice", "msg-2", "carol is gone; the new budget is 40k")
    for name in ("bob", "carol"):
        life.read(step, name, second)
    return second


def _join(life: Life, room: Room, *history: bytes) -> None:
    step = life.step("dave joins: the room rotates to epoch 3; history is not shared")
    rotation = room.add([life.people["dave"].public])
    for name in ("bob", "dave"):
        life.accept(step, name, rotation.bundle.to_bytes(), "new bundle")
    step.notes.append("the relay hands dave the stored history, msg-1 and msg-2:")
    for payload in history:
        life.relay.publish(step, payload)
        life.relay.log.pop()  # already stored once
        life.read(step, "dave", payload)
    step = life.step("dave writes to the room")
    third = life.send(step, "dave", "msg-3", "hello, dave here")
    for name in ("alice", "bob", "carol"):
        life.read(step, name, third, replay_check=True)
    step = life.step("the relay delivers dave's message to bob a second time")
    life.relay.publish(step, third)
    life.relay.log.pop()
    life.read(step, "bob", third, replay_check=True)


# -- rendering -----------------------------------------------------------------------------------


def _relay_lines(seen: dict[str, Any]) -> list[str]:
    return [f"epoch {seen['epoch']}  sender {seen['sender']}  id {seen['message_id']}",
            f"key id {seen['key_id'][:12]}…  {seen['bytes']} bytes",
            f"ciphertext {seen['ciphertext'][:24]}…"]


GLOSS: Final = {"E_AUTH": "authentication failed", "E_UNKNOWN_KEY": "holds no key for this epoch",
                 "E_REPLAY": "already opened once", "E_DEVICE_TOO_NEW": "added after it: restore the backup",
                 "E_NOT_MEMBER": "not a member of that epoch"}


def _read_line(read: dict[str, Any]) -> str:
    if read["ok"]:
        return f"{read['member']:<6} reads {read['text']!r}"
    return f"{read['member']:<6} cannot: {read['code']} ({GLOSS.get(read['code'], read['error'])})"


def render(steps: list[Step]) -> Iterator[str]:
    yield "A room's life. Left: what the relay sees. Right: what members read."
    for step in steps:
        yield ""
        yield step.title
        for note in step.notes:
            yield f"   {note}"
        if step.relay:
            yield f"   {'relay sees (' + CHANNEL + ')':<{LEFT}}| members read"
        for seen in step.relay:
            yield from _side_by_side(_relay_lines(seen),
                                     [_read_line(r) for r in step.reads if r["message_id"] == seen["message_id"]])


def _side_by_side(left: list[str], right: list[str]) -> Iterator[str]:
    for index in range(max(len(left), len(right))):
        cell = left[index] if index < len(left) else ""
        yield f"   {cell:<{LEFT}}| {right[index] if index < len(right) else ''}".rstrip()


def run(say: Say = print) -> list[Step]:
    steps = story()
    for line in render(steps):
        say(line)
    return steps
