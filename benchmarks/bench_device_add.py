"""Adding a device to a 1,000-user room costs the other members nothing they would not pay for an
ordinary rotation: one member's cost of accepting each, from its slice and from the full bundle.

1,000 users, one device each but every 100th (2 devices) and every 250th (3 devices); u000000's phone
is the admin. Epoch 2 is an ordinary rotation; before epoch 3, user u000123 adds a laptop (version 2
of its signed device list) and the admin rotates, which wraps to the new device and carries the new
list. The member is u000500's phone, holding the epoch before (from slices or from bundles, as it
measures). Timed in CPU time (one thread: the member only verifies and unwraps its own key).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import pytest

from benchmarks._shared import tag, with_cpu_time
from domvia_e2ee import Identity, KeyRing, Room, UserKey, next_device_list, sign_device_list
from domvia_e2ee.group.bundle import Bundle

pytestmark = pytest.mark.cpu_timed
USERS = 1_000
ROOM = "room-device-add"
ADDER, MEMBER = "u000123", "u000500"


def _seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("domvia-bench device add", *parts)).encode()).digest()


def _device(name: str) -> Identity:
    return Identity(name, x25519_private=_seed(name, "x"), ed25519_seed=_seed(name, "ed"))


def _devices(index: int) -> list[str]:
    count = 3 if index % 250 == 0 else 2 if index % 100 == 0 else 1
    return ["phone", "tablet", "desktop"][:count]


@functools.cache
def room_world() -> dict[str, Any]:
    """The bundles of epochs 1 to 3, the users' keys and lists, and the identities."""
    names = [f"u{i:06d}" for i in range(USERS)]
    users = {n: UserKey(n, seed=_seed(n)) for n in names}
    devices = {n: [_device(f"{n}/{d}") for d in _devices(i)] for i, n in enumerate(names)}
    lists = {n: sign_device_list(users[n], version=1, devices=[d.public for d in devices[n]], issued_at=1) for n in names}
    admin = KeyRing(devices[names[0]][0])
    for n in names:
        admin.pin_user(users[n].public)
        admin.add_device_list(lists[n], [d.public for d in devices[n] if d.participant_id != admin.owner.participant_id])
    room, first = Room.create(admin, ROOM, users=names)
    second = room.rotate()
    laptop = _device(f"{ADDER}/laptop")
    admin.add_device_list(next_device_list(users[ADDER], lists[ADDER], devices=[*(d.public for d in devices[ADDER]),
                                                                                  laptop.public], issued_at=2), [laptop.public])
    third = room.rotate()
    assert third.bundle.index_of(laptop.participant_id) is not None
    return {"bundles": (first.bundle, second.bundle, third.bundle), "users": users, "admin": admin.owner.public,
            "member": devices[MEMBER][0]}


def _member_ring(held: tuple[Bundle, ...], form: str) -> KeyRing:
    world = room_world()
    member = world["member"]
    ring = KeyRing(member)
    for user in world["users"].values():
        ring.pin_user(user.public)
    ring.trust_admin(ROOM, world["admin"])
    for bundle in held:
        ring.accept(bundle.slice_for(member.participant_id).to_bytes() if form == "slice" else bundle.to_bytes())
    return ring


@pytest.mark.parametrize("form", ["slice", "bundle"])
@pytest.mark.parametrize("change", ["ordinary", "device-add"])
def test_member_accepts(benchmark, change, form):
    world = room_world()
    bundles = world["bundles"]
    held, new = (bundles[:1], bundles[1]) if change == "ordinary" else (bundles[:2], bundles[2])
    data = new.slice_for(world["member"].participant_id).to_bytes() if form == "slice" else new.to_bytes()
    what = "ordinary rotation" if change == "ordinary" else f"rotation adding a device to {ADDER}'s list"
    tag(benchmark, f"domvia.member-{form}.{change}.{USERS}",
        f"member accepts {what} from its {form} ({len(data):,} B), {USERS:,} users", section="device-add",
        floor=[f"domvia.member-{form}.ordinary.{USERS}"], nbytes=len(data))
    accepted = benchmark.pedantic(with_cpu_time(benchmark, lambda ring: ring.accept(data)),
                                  setup=lambda: ((_member_ring(held, form),), {}),
                                  rounds=100 if form == "slice" else 15, warmup_rounds=1)
    assert accepted.epochs == (new.header.epoch,)
