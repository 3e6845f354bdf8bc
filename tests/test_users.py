"""Users with several devices (spec/users.md): a device list signed by the user key, member entries that
name it, rotation to every listed device, and the attacks a malicious admin, server or lost device tries."""

from __future__ import annotations

import hashlib

import pytest

from domvia_e2ee import (
    Bundle, DeviceList, FormatError, Identity, KeyRing, PolicyError, RollbackError, Room, UnauthorizedError, UserKey,
    next_device_list, sign_device_list,
)
from domvia_e2ee.errors import AuthenticationError, NotRecipientError, UnknownSenderError
from domvia_e2ee.group.bundle import Plan, build_bundle
from domvia_e2ee.keys import RoomKey
from domvia_e2ee.users.device_list import MAX_DEVICES, RevokedDevice

from core_helpers import forge_bundle

ROOM = "room-u"
FIRST: dict[str, Bundle] = {}  # the epoch 1 bundle of the world fixture's room


def _seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("test-users", *parts)).encode()).digest()


def _device(name: str, generation: int = 0) -> Identity:
    return Identity(name, x25519_private=_seed(name, generation, "x"), ed25519_seed=_seed(name, generation, "ed"))


USERS = {u: UserKey(u, seed=_seed(u, "user")) for u in ("alice", "bob", "mallory")}
DEVICES = {d: _device(d) for d in ("alice/phone", "alice/laptop", "bob/phone", "mallory/phone", "alice/tablet")}


def _list(user: str, names: list[str], version: int = 1) -> DeviceList:
    return sign_device_list(USERS[user], version=version, devices=[DEVICES[n].public for n in names], issued_at=100)


def _ring(device: str, *lists: DeviceList) -> KeyRing:
    ring = KeyRing(DEVICES[device])
    for device_list in lists:
        ring.add_device_list(device_list, [DEVICES[d.device_id].public for d in device_list.devices
                                           if d.device_id in DEVICES and DEVICES[d.device_id].public.fingerprint
                                           == d.fingerprint])
    return ring


@pytest.fixture
def world() -> tuple[dict[str, KeyRing], Room, DeviceList, DeviceList]:
    """alice (phone: the admin, laptop) and bob (phone) in a room; the laptop and bob hold slices."""
    alice_v1, bob_v1 = _list("alice", ["alice/phone", "alice/laptop"]), _list("bob", ["bob/phone"])
    rings = {d: _ring(d, alice_v1, bob_v1) for d in ("alice/phone", "alice/laptop", "bob/phone")}
    room, rotation = Room.create(rings["alice/phone"], ROOM, users=["alice", "bob"])
    for name in ("alice/laptop", "bob/phone"):
        rings[name].trust_admin(ROOM, DEVICES["alice/phone"].public)
        rings[name].accept(rotation.bundle.slice_for(name).to_bytes())
    FIRST[ROOM] = rotation.bundle
    return rings, room, alice_v1, bob_v1


# -- the list itself ---------------------------------------------------------------------------

def test_a_list_round_trips_and_verifies() -> None:
    device_list = _list("alice", ["alice/phone", "alice/laptop"])
    again = DeviceList.from_bytes(device_list.to_bytes())
    assert again == device_list and again.verify(USERS["alice"].public) is again
    assert [d.device_id for d in again.devices] == ["alice/laptop", "alice/phone"]
    assert again.user_key.safety_number == USERS["alice"].public.safety_number
    assert "seed" not in repr(USERS["alice"]) and _seed("alice", "user").hex()[:8] not in repr(USERS["alice"])


def test_a_list_signed_by_another_key_is_refused() -> None:
    mallory_as_alice = UserKey("alice", seed=_seed("mallory", "as alice"))
    forged = sign_device_list(mallory_as_alice, version=2, devices=[DEVICES["alice/phone"].public], issued_at=1)
    with pytest.raises(UnauthorizedError):
        forged.verify(USERS["alice"].public)
    tampered = bytearray(_list("alice", ["alice/phone"]).to_bytes())
    tampered[-70] ^= 1  # inside the last device's fingerprint
    with pytest.raises(AuthenticationError):
        DeviceList.from_bytes(bytes(tampered)).verify()


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.replace(b"DVL\x03", b"DVL\x02", 1), "magic"),
    (lambda d: d + b"\x00", "trailing data"),
    (lambda d: d[:-1], "signature"),
    (lambda d: d.replace(b"\x0balice/phone", b"\x0bmalle/phone", 1), "device.id"),
])
def test_strict_parsing_names_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as info:
        DeviceList.from_bytes(mutate(_list("alice", ["alice/phone"]).to_bytes()))
    assert info.value.field == field


def test_device_ids_and_counts_are_bounded() -> None:
    with pytest.raises(FormatError):
        sign_device_list(USERS["alice"], version=1, devices=[DEVICES["bob/phone"].public], issued_at=1)
    with pytest.raises(FormatError):
        sign_device_list(USERS["alice"], version=1, devices=[], issued_at=1)
    many = [_device(f"alice/d{i}").public for i in range(MAX_DEVICES + 1)]
    with pytest.raises(FormatError):
        sign_device_list(USERS["alice"], version=1, devices=many, issued_at=1)
    phone = DEVICES["alice/phone"].public
    with pytest.raises(FormatError, match="revoked"):
        sign_device_list(USERS["alice"], version=1, devices=[phone], issued_at=1,
                         revoked=[RevokedDevice(phone.participant_id, phone.fingerprint, 0)])
    with pytest.raises(FormatError):
        sign_device_list(USERS["alice"], version=0, devices=[phone], issued_at=1)


def test_a_key_ring_never_goes_back_to_an_older_list() -> None:
    ring = _ring("bob/phone", _list("alice", ["alice/phone", "alice/laptop"], version=2))
    with pytest.raises(RollbackError):
        ring.add_device_list(_list("alice", ["alice/phone", "alice/laptop", "alice/tablet"], version=1))
    with pytest.raises(RollbackError):  # the user key equivocating: another list of version 2
        ring.add_device_list(_list("alice", ["alice/phone"], version=2))
    assert ring.users.newest("alice").version == 2  # type: ignore[union-attr]


# -- rooms of users ----------------------------------------------------------------------------

def test_every_device_of_every_member_user_reads(world) -> None:  # type: ignore[no-untyped-def]
    rings, room, _, _ = world
    assert set(room.members) == {"alice/phone", "alice/laptop", "bob/phone"} and set(room.users) == {"alice", "bob"}
    sealed = rings["bob/phone"].seal(ROOM, b"hi from bob's phone")
    assert rings["alice/phone"].open(sealed).plaintext == b"hi from bob's phone"
    with pytest.raises(UnknownSenderError):  # the laptop holds a slice: bob's phone is not proved yet
        rings["alice/laptop"].open(sealed)
    proof = FIRST[ROOM].proof_file_for("bob/phone")
    assert [d.user_id for d in proof.lists] == ["bob"]
    rings["alice/laptop"].accept(proof.to_bytes())
    assert rings["alice/laptop"].open(sealed).plaintext == b"hi from bob's phone"


def test_a_removed_device_reads_nothing_after_the_rotation(world) -> None:  # type: ignore[no-untyped-def]
    rings, room, alice_v1, _ = world
    admin = rings["alice/phone"]
    alice_v2 = next_device_list(USERS["alice"], alice_v1, devices=[DEVICES["alice/phone"].public], issued_at=200)
    admin.add_device_list(alice_v2)
    assert "devices" in room.rotation_due()
    with pytest.raises(PolicyError, match="rotation is due"):  # nothing more is sealed to the lost laptop
        admin.seal(ROOM, b"before the rotation")
    rotation = room.rotate()
    assert "alice/laptop" not in room.members and room.rotation_due() == ()
    with pytest.raises(KeyError):
        rotation.bundle.slice_for("alice/laptop")
    with pytest.raises(NotRecipientError):
        rings["alice/laptop"].accept(rotation.bundle.slice_for("alice/phone").to_bytes())
    assert alice_v2.revocation("alice/laptop", DEVICES["alice/laptop"].public.fingerprint) is not None


def test_a_device_that_replaces_its_keys_heals(world) -> None:  # type: ignore[no-untyped-def]
    rings, room, alice_v1, _ = world
    new_laptop = _device("alice/laptop", generation=1)
    alice_v2 = next_device_list(USERS["alice"], alice_v1, devices=[DEVICES["alice/phone"].public, new_laptop.public],
                                issued_at=300)
    rings["alice/phone"].add_device_list(alice_v2, [new_laptop.public])
    rotation = room.rotate()
    assert room.members["alice/laptop"] == new_laptop.public
    healed = KeyRing(new_laptop)
    healed.trust_admin(ROOM, DEVICES["alice/phone"].public)
    healed.accept(rotation.bundle.slice_for("alice/laptop").to_bytes())
    with pytest.raises(NotRecipientError):  # the leaked old keys unwrap nothing of the new epoch
        rings["alice/laptop"].accept(rotation.bundle.slice_for("alice/laptop").to_bytes())


# -- attacks -----------------------------------------------------------------------------------

def _forge(admin: Room, members: list[Identity], lists: list[DeviceList]):  # type: ignore[no-untyped-def]
    """An epoch the admin signs with the members and lists it chooses: a malicious admin's bundle."""
    record = admin.keyring.record(ROOM, admin.epoch)
    key = RoomKey.generate(room_id=ROOM, epoch=admin.epoch + 1)
    plan = Plan(record.header.epoch_hash(), record.header.policy, record.header.admins)
    return build_bundle(admin.keyring.owner, key, [m.public for m in members], kem=record.header.kem,
                        issued_at=5, plan=plan, lists=lists)


def test_an_admin_cannot_give_a_user_a_device_the_user_did_not_list(world) -> None:  # type: ignore[no-untyped-def]
    """Before v3 an admin's roster alone said who was in the room: an admin could put a "bob/phone2" of its own."""
    rings, room, alice_v1, bob_v1 = world
    evil = _device("bob/phone2")
    fake_bob = sign_device_list(UserKey("bob", seed=_seed("admin's bob")), version=2,
                                devices=[DEVICES["bob/phone"].public, evil.public], issued_at=9)
    bundle = _forge(room, [DEVICES[d] for d in ("alice/phone", "alice/laptop", "bob/phone")] + [evil],
                    [alice_v1, fake_bob])
    with pytest.raises(UnauthorizedError, match="pinned"):  # bob pinned his own key when he took his list
        rings["bob/phone"].accept(bundle.slice_for("bob/phone").to_bytes())
    laptop = rings["alice/laptop"]  # a slice holder sees bob's list only when a bob device proves membership
    laptop.accept(bundle.slice_for("alice/laptop").to_bytes())
    with pytest.raises(UnauthorizedError, match="pinned"):
        laptop.accept(bundle.proof_file_for("bob/phone2").to_bytes())
    with pytest.raises(UnknownSenderError):
        laptop.open(_seal_as(evil, laptop, bundle))
    laptop.forget_room(ROOM)
    laptop.trust_admin(ROOM, DEVICES["alice/phone"].public)
    laptop.accept(FIRST[ROOM].slice_for("alice/laptop").to_bytes())
    members = [DEVICES[d].public for d in ("alice/phone", "alice/laptop", "bob/phone")] + [evil.public]
    record = room.keyring.record(ROOM, room.epoch)
    under_real_list = forge_bundle(DEVICES["alice/phone"], RoomKey.generate(room_id=ROOM, epoch=2), members,
                                   previous=record.header.epoch_hash(), admins=record.header.admins,
                                   lists=[alice_v1, bob_v1], digests={"alice/phone": alice_v1.digest,
                                   "alice/laptop": alice_v1.digest, "bob/phone": bob_v1.digest,
                                   "bob/phone2": bob_v1.digest})
    before = rings["alice/laptop"].epochs(ROOM)
    with pytest.raises(UnauthorizedError, match="bob/phone2"):  # bob's genuine list does not name it
        rings["alice/laptop"].accept(under_real_list.to_bytes())
    assert rings["alice/laptop"].epochs(ROOM) == before


def _seal_as(device: Identity, ring: KeyRing, bundle: Bundle) -> bytes:
    """A message the malicious admin's device sealed under the forged epoch's key, read off the admin's ring."""
    from domvia_e2ee import seal

    key = ring.record(ROOM, bundle.header.epoch).key
    assert key is not None
    return seal(key, b"from the admin's bob/phone2", message_id="m-evil", sender=device).to_bytes()


def test_an_unlisted_device_id_cannot_be_a_bare_participant(world) -> None:  # type: ignore[no-untyped-def]
    _, room, alice_v1, _ = world
    with pytest.raises(ValueError, match="device lists"):
        _forge(room, [DEVICES["alice/phone"], _device("bob/phone2")], [alice_v1])


def test_a_bundle_must_wrap_to_every_listed_device(world) -> None:  # type: ignore[no-untyped-def]
    rings, room, alice_v1, bob_v1 = world
    bundle = _forge(room, [DEVICES["alice/phone"], DEVICES["bob/phone"]], [alice_v1, bob_v1])
    with pytest.raises(UnauthorizedError, match="leaves out 'alice/laptop'"):
        rings["bob/phone"].accept(bundle.to_bytes())


def test_an_admin_cannot_roll_a_user_back_to_an_older_list(world) -> None:  # type: ignore[no-untyped-def]
    rings, room, alice_v1, bob_v1 = world
    alice_v2 = next_device_list(USERS["alice"], alice_v1, devices=[DEVICES["alice/phone"].public], issued_at=9)
    rings["alice/phone"].add_device_list(alice_v2)
    rotation = room.rotate()
    bob = rings["bob/phone"]
    bob.accept(rotation.bundle.to_bytes())
    back = _forge(room, [DEVICES[d] for d in ("alice/phone", "alice/laptop", "bob/phone")], [alice_v1, bob_v1])
    before = bob.epochs(ROOM)
    with pytest.raises(RollbackError):
        bob.accept(back.to_bytes())
    assert bob.epochs(ROOM) == before


def test_users_and_lists_survive_the_key_ring_file(world) -> None:  # type: ignore[no-untyped-def]
    from domvia_e2ee import keyring_from_plaintext, keyring_to_plaintext

    rings, room, _, _ = world
    state = keyring_to_plaintext(rings["alice/phone"])
    again = keyring_from_plaintext(state, DEVICES["alice/phone"])
    assert again.users.newest("bob") == rings["alice/phone"].users.newest("bob")
    assert again.users.pinned("alice") == USERS["alice"].public
    assert Room(again, ROOM).users == room.users
    planted = dict(state, lists=state["lists"] + [
        __import__("domvia_e2ee.encoding", fromlist=["b64encode"]).b64encode(
            sign_device_list(UserKey("bob", seed=_seed("planted")), version=9, devices=[DEVICES["bob/phone"].public],
                             issued_at=1).raw)])
    with pytest.raises(FormatError, match="does not verify"):  # a list signed by a key bob never had
        keyring_from_plaintext(planted, DEVICES["alice/phone"])


def test_a_user_key_signing_two_lists_of_one_version_is_caught_inside_a_bundle(world) -> None:  # type: ignore[no-untyped-def]
    """Found by the independent JavaScript implementation (SPEC-FINDINGS U2): an equivocating list inside a bundle
    was accepted silently, kept by digest, while add_device_list refused the same list."""
    rings, room, _, bob_v1 = world
    other_v1 = sign_device_list(USERS["alice"], version=1, devices=[DEVICES["alice/phone"].public,
                                                                     DEVICES["alice/laptop"].public], issued_at=999)
    bundle = _forge(room, [DEVICES[d] for d in ("alice/phone", "alice/laptop", "bob/phone")], [other_v1, bob_v1])
    before = rings["bob/phone"].epochs(ROOM)
    with pytest.raises(RollbackError):
        rings["bob/phone"].accept(bundle.to_bytes())
    assert rings["bob/phone"].epochs(ROOM) == before
