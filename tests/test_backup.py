"""Key backup and sibling sharing (spec/backup.md): a new device restores its user's whole history with
no other device online, and the server, a lost device or a leaked public key cannot make it accept
anything the user's devices did not accept."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from domvia_e2ee import (
    AuthenticationError, DeviceTooNewError, FormatError, Identity, KeyRing, NotMemberError, Room, UserKey,
    WithheldError, keyring_from_plaintext, keyring_to_plaintext, next_device_list, sign_device_list,
)
from domvia_e2ee.errors import PolicyError, UnauthorizedError
from domvia_e2ee.group.bundle import Announcement
from domvia_e2ee.users import restore_checks
from domvia_e2ee.users.backup import accept_sibling_share, back_up, restore, share_with_sibling
from domvia_e2ee.users.backup_chunk import seal_chunk
from domvia_e2ee.users.backup_entries import BackupEntry
from domvia_e2ee.users.backup_info import BackupInfo, create_backup_info
from domvia_e2ee.users.recovery import Argon2Cost, BackupSecret
from domvia_e2ee.users.restore import RestoreReport, verify_entries

ROOM = "room-b"


def _seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(("test-backup", *parts)).encode()).digest()


def _device(name: str) -> Identity:
    return Identity(name, x25519_private=_seed(name, "x"), ed25519_seed=_seed(name, "ed"))


ALICE, BOB = UserKey("alice", seed=_seed("alice")), UserKey("bob", seed=_seed("bob"))
PHONE, LAPTOP, TABLET, BOB_PHONE = (_device(n) for n in ("alice/phone", "alice/laptop", "alice/tablet", "bob/phone"))


def _ring(device: Identity, *lists) -> KeyRing:  # type: ignore[no-untyped-def]
    ring = KeyRing(device)
    known = {d.participant_id: d.public for d in (PHONE, LAPTOP, TABLET, BOB_PHONE)}
    for device_list in lists:
        ring.add_device_list(device_list, [known[d.device_id] for d in device_list.devices])
    return ring


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    """bob (admin) and alice's phone chat over five epochs; alice's phone backs up; alice gets a tablet at epoch 6."""
    alice_1 = sign_device_list(ALICE, version=1, devices=[PHONE.public], issued_at=1)
    bob_1 = sign_device_list(BOB, version=1, devices=[BOB_PHONE.public], issued_at=1)
    admin, phone = _ring(BOB_PHONE, alice_1, bob_1), _ring(PHONE, alice_1, bob_1)
    room, rotation = Room.create(admin, ROOM, users=["alice", "bob"])
    phone.trust_admin(ROOM, BOB_PHONE.public)
    phone.accept(rotation.bundle.slice_for("alice/phone").to_bytes())
    sealed = []
    for epoch in range(2, 6):
        sealed.append(admin.seal(ROOM, f"message of epoch {epoch - 1}".encode()))
        phone.accept(room.rotate().bundle.slice_for("alice/phone").to_bytes())
    info, secret = create_backup_info(ALICE)
    chunks = [p.chunk.to_bytes() for p in back_up(phone, info, first_seq=1)]
    alice_2 = next_device_list(ALICE, alice_1, devices=[PHONE.public, TABLET.public], issued_at=2)
    admin.add_device_list(alice_2, [TABLET.public])
    tablet = _ring(TABLET, alice_2, bob_1)
    tablet.trust_admin(ROOM, BOB_PHONE.public)
    sixth = room.rotate().bundle
    tablet.accept(sixth.slice_for("alice/tablet").to_bytes())
    return {"sixth": sixth, "admin": admin, "phone": phone, "tablet": tablet, "room": room, "sealed": sealed, "info": info,
            "secret": secret, "chunks": chunks, "lists": (alice_1, alice_2, bob_1)}


def test_a_new_device_restores_everything_with_no_other_device_online(world) -> None:  # type: ignore[no-untyped-def]
    tablet, sealed = world["tablet"], world["sealed"]
    with pytest.raises(DeviceTooNewError):  # before the restore: the classified reason, with its action
        tablet.open(sealed[0], check_replay=False)
    report = restore(tablet, world["chunks"], world["info"], recovery_key=world["secret"].recovery_key())
    assert report.refused_chunks == [] and report.refused_rooms == {} and report.keys == 5
    assert tablet.epochs(ROOM) == [1, 2, 3, 4, 5, 6]
    assert [tablet.open(m, check_replay=False).plaintext for m in sealed] == [
        f"message of epoch {e}".encode() for e in range(1, 5)]


def test_the_recovery_key_is_checked_and_a_typo_is_caught() -> None:
    secret = BackupSecret.generate()
    text = secret.recovery_key()
    assert text.startswith("DVRK-") and BackupSecret.from_recovery_key(text.lower().replace("-", " ")) == secret
    typo = text[:-1] + ("A" if text[-1] != "A" else "B")
    with pytest.raises(FormatError, match="mistyped"):
        BackupSecret.from_recovery_key(typo)
    assert secret.recovery_key()[6:14] not in repr(secret)


def test_a_wrong_recovery_key_or_passphrase_opens_nothing(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationError):
        restore(world["tablet"], world["chunks"], world["info"], recovery_key=BackupSecret.generate().recovery_key())
    cost = Argon2Cost(memory_kib=8 * 1024, iterations=1, lanes=1)
    info, secret = create_backup_info(ALICE, passphrase=b"correct horse", cost=cost)
    assert info.secret(passphrase=b"correct horse") == secret
    with pytest.raises(AuthenticationError):
        info.secret(passphrase=b"wrong horse")
    assert world["tablet"].epochs(ROOM) == [6]


def test_the_server_cannot_substitute_its_own_backup_key() -> None:
    """Before backup infos were signed, a server could give devices its own public key and read every key."""
    server = UserKey("alice", seed=_seed("server as alice"))
    forged, _ = create_backup_info(server)
    with pytest.raises(AuthenticationError):
        forged.verify(ALICE.public)
    with pytest.raises(AuthenticationError):  # nor weaken a passphrase's cost in a genuine one
        raw = bytearray(create_backup_info(ALICE, passphrase=b"pw", cost=Argon2Cost(8192, 1, 1))[0].to_bytes())
        raw[4 + 1 + 5 + 4 + 1 + 16 + 3] ^= 0x40  # memory_kib
        BackupInfo.from_bytes(bytes(raw)).verify(ALICE.public)


def test_the_server_cannot_inject_a_chunk(world) -> None:  # type: ignore[no-untyped-def]
    """The backup public key is no secret: anyone can encrypt to it. Only a device of the list can sign."""
    server = _device("alice/server")
    record = world["phone"].record(ROOM, 5)
    forged_entry = dataclasses.replace(BackupEntry.of(ROOM, record), secret=bytes(32))
    forged = seal_chunk(server, "alice", 9, [forged_entry], backup_public=world["info"].public,
                        recipient_key_id=world["info"].key_id)
    tablet = world["tablet"]
    report = restore(tablet, [forged.to_bytes()], world["info"], recovery_key=world["secret"].recovery_key())
    assert report.refused_chunks == ["alice/server#9: E_UNAUTHORIZED"] and report.rooms == {}
    assert tablet.epochs(ROOM) == [6]


def test_a_device_cannot_plant_a_key_the_chain_does_not_vouch_for(world) -> None:  # type: ignore[no-untyped-def]
    phone, tablet = world["phone"], world["tablet"]
    good = [BackupEntry.of(ROOM, phone.record(ROOM, e)) for e in phone.epochs(ROOM)]
    bad_key = [dataclasses.replace(good[0], secret=bytes(32)), *good[1:]]
    chunk = seal_chunk(PHONE, "alice", 7, bad_key, backup_public=world["info"].public, recipient_key_id=world["info"].key_id)
    report = restore(tablet, [chunk.to_bytes()], world["info"], recovery_key=world["secret"].recovery_key())
    assert report.refused_rooms == {ROOM: "E_AUTH"} and tablet.epochs(ROOM) == [6]
    other_room = [dataclasses.replace(e, room_id="room-x") for e in good]
    chunk = seal_chunk(PHONE, "alice", 8, other_room, backup_public=world["info"].public, recipient_key_id=world["info"].key_id)
    report = restore(tablet, [chunk.to_bytes()], world["info"], recovery_key=world["secret"].recovery_key())
    assert report.refused_rooms == {"room-x": "E_FORMAT"} and tablet.rooms() == [ROOM]


def test_a_lost_device_cannot_write_backups_after_its_removal(world) -> None:  # type: ignore[no-untyped-def]
    alice_1, alice_2, bob_1 = world["lists"]
    after = seal_chunk(PHONE, "alice", 2, [BackupEntry.of(ROOM, world["phone"].record(ROOM, 5))],
                       backup_public=world["info"].public, recipient_key_id=world["info"].key_id)
    alice_3 = next_device_list(ALICE, alice_2, devices=[TABLET.public], backup_seqs={"alice/phone": 1}, issued_at=3)
    tablet = _ring(TABLET, alice_3, bob_1)  # a tablet that holds nothing of the room yet
    report = restore(tablet, world["chunks"] + [after.to_bytes()], world["info"],
                     recovery_key=world["secret"].recovery_key())
    assert report.refused_chunks == ["alice/phone#2: E_UNAUTHORIZED"]  # seq 1, before the removal, still counts
    assert report.keys == 5 and tablet.epochs(ROOM) == [1, 2, 3, 4, 5]
    del alice_1


def test_retention_forgets_and_the_backup_brings_back(world) -> None:  # type: ignore[no-untyped-def]
    phone, sealed = world["phone"], world["sealed"]
    assert phone.forget_keys_older_than(0, now=2_000_000_000) == 4  # every epoch but the latest
    with pytest.raises(WithheldError):
        phone.open(sealed[0], check_replay=False)
    again = keyring_from_plaintext(keyring_to_plaintext(phone), PHONE)
    with pytest.raises(WithheldError):
        again.open(sealed[0], check_replay=False)
    report = restore(again, world["chunks"], world["info"], recovery_key=world["secret"].recovery_key())
    assert report.refused_rooms == {} and again.open(sealed[0], check_replay=False).plaintext == b"message of epoch 1"


def test_backups_are_incremental(world) -> None:  # type: ignore[no-untyped-def]
    phone = world["phone"]
    assert back_up(phone, world["info"], first_seq=2) != []  # nothing marked yet: all pending again
    for pending in back_up(phone, world["info"], first_seq=2):
        phone.mark_backed_up(pending.pending)
    assert back_up(phone, world["info"], first_seq=3) == []
    phone.add_device_list(world["lists"][1], [TABLET.public])
    phone.accept(world["sixth"].slice_for("alice/phone").to_bytes())
    assert [[r.epoch for _, r in p.pending] for p in back_up(phone, world["info"], first_seq=3)] == [[6]]


def test_a_sibling_shares_and_only_with_a_sibling(world) -> None:  # type: ignore[no-untyped-def]
    phone, tablet, sealed = world["phone"], world["tablet"], world["sealed"]
    alice_2 = world["lists"][1]
    phone.add_device_list(alice_2, [TABLET.public])
    chunks = share_with_sibling(phone, TABLET.public, seq=1)
    report = accept_sibling_share(tablet, [c.to_bytes() for c in chunks])
    assert report.refused_rooms == {} and tablet.open(sealed[3], check_replay=False).plaintext == b"message of epoch 4"
    with pytest.raises(UnauthorizedError):  # bob/phone is not on alice's list
        share_with_sibling(phone, BOB_PHONE.public, seq=1)
    with pytest.raises(PolicyError):  # a participant that is no user's device has no sibling
        accept_sibling_share(KeyRing(_device("carol")), [c.to_bytes() for c in chunks])
    bob = _ring(BOB_PHONE, world["lists"][1], world["lists"][2])  # bob holds alice's list, but is not alice
    report = accept_sibling_share(bob, [c.to_bytes() for c in chunks])
    assert report.refused_chunks == ["alice/phone#1: E_FORMAT"] and report.rooms == {}


def test_a_restored_device_says_not_a_member_for_what_no_device_held() -> None:
    """alice joins room-c at epoch 2; her tablet, added at epoch 3, restores epoch 2 and no earlier one."""
    alice_1 = sign_device_list(ALICE, version=1, devices=[PHONE.public], issued_at=1)
    bob_1 = sign_device_list(BOB, version=1, devices=[BOB_PHONE.public], issued_at=1)
    admin, phone = _ring(BOB_PHONE, alice_1, bob_1), _ring(PHONE, alice_1, bob_1)
    room, _ = Room.create(admin, "room-c", users=["bob"])
    before = admin.seal("room-c", b"before alice")
    phone.trust_admin("room-c", BOB_PHONE.public)
    phone.accept(room.add_users(["alice"]).bundle.slice_for("alice/phone").to_bytes())
    info, secret = create_backup_info(ALICE)
    chunks = [p.chunk.to_bytes() for p in back_up(phone, info, first_seq=1)]
    alice_2 = next_device_list(ALICE, alice_1, devices=[PHONE.public, TABLET.public], issued_at=2)
    admin.add_device_list(alice_2, [TABLET.public])
    tablet = _ring(TABLET, alice_2, bob_1)
    tablet.trust_admin("room-c", BOB_PHONE.public)
    tablet.accept(room.rotate().bundle.slice_for("alice/tablet").to_bytes())
    with pytest.raises(DeviceTooNewError):
        tablet.open(before, check_replay=False)
    restore(tablet, chunks, info, recovery_key=secret.recovery_key())
    assert tablet.epochs("room-c") == [2, 3]
    with pytest.raises(NotMemberError) as info_error:  # now known: no device of alice held epoch 1
        tablet.open(before, check_replay=False)
    assert info_error.value.code == "E_NOT_MEMBER"


def test_every_single_character_typo_is_caught() -> None:
    """The last base32 character carries 3 unused bits: decoding alone would accept some typos there."""
    text = BackupSecret(bytes(range(32))).recovery_key()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for at, char in enumerate(text):
        if char in "-" or at < 5:
            continue
        for other in alphabet.replace(char, ""):
            with pytest.raises(FormatError):
                BackupSecret.from_recovery_key(text[:at] + other + text[at + 1:])


def test_a_restored_key_ring_survives_its_file(world) -> None:  # type: ignore[no-untyped-def]
    """Found by the CLI tests: restored epochs name their rotators' device lists, which the ring must hold."""
    tablet = _ring(TABLET, world["lists"][1])  # holds alice's list only: bob's comes with the restored epochs
    restore(tablet, world["chunks"], world["info"], recovery_key=world["secret"].recovery_key())
    assert tablet.epochs(ROOM) == [1, 2, 3, 4, 5]
    again = keyring_from_plaintext(keyring_to_plaintext(tablet), TABLET)
    assert again.epochs(ROOM) == tablet.epochs(ROOM)


def _bad_signature(entry: BackupEntry) -> BackupEntry:
    announcement = Announcement.from_bytes(entry.data)
    signature = bytes([announcement.signed.signature[0] ^ 1]) + announcement.signed.signature[1:]
    signed = dataclasses.replace(announcement.signed, signature=signature)
    return dataclasses.replace(entry, data=dataclasses.replace(announcement, signed=signed).to_bytes())


@pytest.mark.parametrize(("defects", "code"), [
    ({}, None), ({1: "signature", 3: "epoch"}, "E_AUTH"), ({1: "epoch", 3: "signature"}, "E_FORMAT"),
    ({2: "key", 3: "signature"}, "E_AUTH"), ({0: "signature"}, "E_AUTH"), ({3: "signature", 4: "epoch"}, "E_AUTH")])
def test_the_parallel_entry_checks_refuse_with_the_one_by_one_code(world, monkeypatch, defects, code) -> None:  # type: ignore[no-untyped-def]
    """restore_checks.py checks entries up front on two threads; the first defect in chain order still decides."""
    phone = world["phone"]
    entries = [BackupEntry.of(ROOM, phone.record(ROOM, e)) for e in phone.epochs(ROOM)]
    for index, defect in defects.items():
        if defect == "signature":
            entries[index] = _bad_signature(entries[index])
        elif defect == "epoch":
            entries[index] = dataclasses.replace(entries[index], data=entries[index - 1].data)
        else:
            entries[index] = dataclasses.replace(entries[index], secret=bytes(32))
    users = world["tablet"].users.state()
    outcomes = []
    for threshold in (2, 1 << 30):
        monkeypatch.setattr(restore_checks, "PARALLEL_THRESHOLD", threshold)
        report = RestoreReport()
        verify_entries(entries, users, report)
        outcomes.append((report.refused_rooms, {r: [(x.header_bytes, x.key and bytes(x.key), x.source) for x in records]
                                                for r, records in report.rooms.items()}))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == ({} if code is None else {ROOM: code})
    assert bool(outcomes[0][1]) == (code is None)


def test_a_device_does_not_seal_in_a_restored_epoch_it_is_not_a_member_of(world) -> None:  # type: ignore[no-untyped-def]
    """Found by the chaos simulation: a new device that restored its user's history before its first live epoch
    arrived sealed under the newest restored key; the store and every member refuse such a message
    (E_UNAUTHORIZED: the device is on no roster of that epoch), so the seal must be refused (E_NOT_MEMBER)."""
    alice_2, bob_1 = world["lists"][1], world["lists"][2]
    tablet = _ring(TABLET, alice_2, bob_1)
    restore(tablet, world["chunks"], world["info"], recovery_key=world["secret"].recovery_key())
    assert tablet.epochs(ROOM) == [1, 2, 3, 4, 5] and tablet.record(ROOM, 5).key is not None
    with pytest.raises(NotMemberError):
        tablet.seal(ROOM, b"under a key of an epoch without me")
    tablet.accept(world["sixth"].slice_for("alice/tablet").to_bytes())
    assert world["admin"].open(tablet.seal(ROOM, b"now a member")).plaintext == b"now a member"
