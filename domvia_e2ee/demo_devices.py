"""The demo's second half: a user with several devices, a key backup, a new device that reads the history
with no other device online, and a lost device that reads nothing after the room rotates."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .errors import DomviaError
from .identity import Identity
from .group.keyring import KeyRing
from .group.lists import lists_for
from .group.members import MemberProof, MemberProofFile
from .group.room import Room, Rotation
from .hazmat import merkle
from .users.backup import back_up, restore
from .users.backup_info import create_backup_info
from .users.device_list import DeviceList, next_device_list, sign_device_list
from .users.user_key import UserKey

if TYPE_CHECKING:
    from .demo import Life

ROOM = "room-42"


def devices(life: Life, room: Room) -> None:
    """erin joins with two devices, backs up, gets a tablet that restores alone, and loses her phone."""
    erin = UserKey.generate("erin")
    for name in ("erin/phone", "erin/laptop", "erin/tablet"):
        life.people[name] = Identity.generate(name)
        life.rings[name] = KeyRing(life.people[name])
        life.rings[name].trust_admin(ROOM, life.people["alice"].public)
    first = _join(life, room, erin)
    chunks, secret, info = _back_up(life, erin)
    lists, fifth = _tablet(life, room, erin, first, chunks, secret, info)
    _lose_phone(life, room, erin, lists, fifth)


def _publish(life: Life, device_list: DeviceList, *readers: str) -> None:
    """The server publishes a user's list; each reader checks it under the pinned user key."""
    identities = [life.people[d.device_id].public for d in device_list.devices]
    for name in readers:
        life.rings[name].add_device_list(device_list, identities)


def _join(life: Life, room: Room, erin: UserKey) -> bytes:
    step = life.step("erin joins with her phone and laptop: one user, one safety number")
    first = sign_device_list(erin, version=1, devices=[life.people[d].public for d in ("erin/phone", "erin/laptop")],
                             issued_at=int(time.time()))
    _publish(life, first, "alice", "erin/phone", "erin/laptop", "erin/tablet")
    step.notes.append(f"erin's user key signs her device list (version 1, {len(first.raw)} bytes); alice compares "
                      f"erin's safety number {erin.public.safety_number} once, for every device")
    rotation = room.add_users(["erin"])
    for name in ("erin/phone", "erin/laptop", "bob", "dave"):
        life.accept(step, name, rotation.bundle.slice_for(name).to_bytes(), "slice")
    message = life.send(step, "erin/laptop", "msg-4", "hi, erin here, on my laptop")
    for name in ("bob", "erin/phone"):  # slice holders: the server serves the sender's member proof
        life.accept(step, name, rotation.bundle.proof_file_for("erin/laptop").to_bytes(), "member proof of erin/laptop")
        life.read(step, name, message)
    return message


def _back_up(life: Life, erin: UserKey) -> tuple[list[bytes], str, bytes]:
    step = life.step("erin's phone backs up every key it accepted")
    info, secret = create_backup_info(erin)
    pending = back_up(life.rings["erin/phone"], info, first_seq=1)
    chunks = [p.chunk.raw for p in pending]
    for p in pending:
        life.rings["erin/phone"].mark_backed_up(p.pending)
    step.notes.append(f"erin is shown her recovery key once ({secret.recovery_key()[:14]}…); the server stores "
                      f"{len(chunks)} chunk of {sum(map(len, chunks))} bytes: their number and size are all it learns")
    return chunks, secret.recovery_key(), info.raw


def _tablet(life: Life, room: Room, erin: UserKey, history: bytes, chunks: list[bytes], recovery_key: str,
            info_bytes: bytes) -> tuple[list[DeviceList], Rotation]:
    from .users.backup_info import BackupInfo

    step = life.step("erin adds a tablet; her other devices are offline: the tablet restores from the backup")
    first = life.rings["alice"].users.newest("erin")
    assert first is not None
    second = next_device_list(erin, first, devices=[life.people[d].public for d in ("erin/phone", "erin/laptop",
                                                                                     "erin/tablet")],
                              issued_at=int(time.time()))
    _publish(life, second, "alice", "erin/tablet")
    step.notes.append(f"alice's room says a rotation is due: {', '.join(room.rotation_due())}")
    rotation = room.rotate()
    life.accept(step, "erin/tablet", rotation.bundle.slice_for("erin/tablet").to_bytes(), "slice")
    life.relay.publish(step, history)
    life.relay.log.pop()  # already stored once
    life.read(step, "erin/tablet", history)
    report = restore(life.rings["erin/tablet"], chunks, BackupInfo.from_bytes(info_bytes), recovery_key=recovery_key)
    step.notes.append(f"erin types her recovery key on the tablet: {report.keys} epoch key restored, checked against "
                      "the signed chain; then the tablet reads msg-4 again (second line)")
    life.accept(step, "erin/tablet", rotation_proof(life, history), "member proof of erin/laptop")
    life.read(step, "erin/tablet", history)
    return [first, second], rotation


def _lose_phone(life: Life, room: Room, erin: UserKey, lists: list[DeviceList], fifth: Rotation) -> None:
    step = life.step("erin loses her phone: it leaves her list and the room rotates")
    for name in ("bob", "erin/phone", "erin/laptop"):  # back online: they take epoch 5 first
        life.rings[name].accept(fifth.bundle.slice_for(name).to_bytes())
    third = next_device_list(erin, lists[-1], devices=[life.people[d].public for d in ("erin/laptop", "erin/tablet")],
                             issued_at=int(time.time()))
    _publish(life, third, "alice", "erin/laptop", "erin/tablet")
    try:
        life.rings["alice"].seal(ROOM, b"too soon")
    except DomviaError as error:
        step.notes.append(f"alice has erin's list version 3: she seals nothing to the lost phone, {error.code} "
                          f"(rotation due: {', '.join(room.rotation_due())})")
    rotation = room.rotate()
    life.accept(step, "erin/phone", rotation.announcement().to_bytes(), "announcement")
    for name in ("bob", "erin/tablet"):
        life.accept(step, name, rotation.bundle.slice_for(name).to_bytes(), "slice")
    message = life.send(step, "bob", "msg-5", "erin, your phone is out of the loop")
    life.accept(step, "erin/tablet", rotation.bundle.proof_file_for("bob").to_bytes(), "member proof of bob")
    for name in ("erin/tablet", "erin/phone"):
        life.read(step, name, message)


def rotation_proof(life: Life, message: bytes) -> bytes:
    """The sender's member proof of the message's epoch, as the server serves it (from alice's full roster)."""
    import json

    sealed = json.loads(message)
    record = life.rings["alice"].record(ROOM, sealed["e"])
    entries = sorted(record.roster.values(), key=lambda e: e.participant_id.encode())
    index = [e.participant_id for e in entries].index(sealed["u"])
    proof = MemberProof(entries[index], index, tuple(merkle.Tree([e.leaf() for e in entries]).path(index)))
    return MemberProofFile(ROOM, sealed["e"], proof, lists_for([proof.entry], life.rings["alice"].users.by_digest())
                           ).to_bytes()
