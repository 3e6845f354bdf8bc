"""Vectors of key backups and sibling shares (spec/backup.md), on the room of users of users.py.

alice/phone holds epochs 1 and 2 of room-u; it shares them with alice/tablet (on alice's third list) and
backs them up to alice's backup key. alice/laptop, revoked by alice's lists 2 and 3 after its third chunk,
wrote chunks before and after. Sibling shares use classic HPKE with fixed ephemerals, so they regenerate
byte for byte; chunks to the (X-Wing) backup key are pinned once in vectors/pinned/backup.json.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from ..group.keyring import KeyRing
from ..users.backup_chunk import _seal_chunk_from_parts
from ..users.backup_entries import CHAINED, BackupEntry
from ..users.backup_info import _backup_info_from_parts
from ..users.recovery import Argon2Cost, BackupSecret
from .fixtures import Case, invalid, private_obj, seed, valid
from .pinned import pinned_path
from .users import DEVICES, ROOM, USERS, epoch, list_hex, user_obj

SECRET = BackupSecret(seed("backup/secret"))
PASSPHRASE_COST = Argon2Cost(memory_kib=8192, iterations=1, lanes=1)


@functools.cache
def info_hex(kind: str = "recovery") -> str:
    if kind == "recovery":
        return _backup_info_from_parts(USERS["alice"], SECRET, version=1).raw.hex()
    secret = BackupSecret.from_passphrase(b"correct horse", seed("backup/salt", 16), PASSPHRASE_COST)
    return _backup_info_from_parts(USERS["alice"], secret, version=2, salt=seed("backup/salt", 16),
                                   cost=PASSPHRASE_COST).raw.hex()


def _ring(device: str, lists: tuple[str, ...], slices: tuple[int, ...]) -> KeyRing:
    ring = KeyRing(DEVICES[device])
    for name in lists:
        ring.add_device_list(bytes.fromhex(list_hex(name)))
    ring.trust_admin(ROOM, DEVICES["alice/phone"].public)
    for number in slices:
        ring.accept(bytes.fromhex(epoch(number)["slices"][device]))
    return ring


def _entries(device: str, slices: tuple[int, ...]) -> list[BackupEntry]:
    ring = _ring(device, ("alice-1", "bob-1"), slices)
    return [BackupEntry.of(ROOM, ring.record(ROOM, e)) for e in ring.epochs(ROOM)]


def share_hex(uploader: str, seq: int, entries: list[BackupEntry], to: str = "alice/tablet") -> str:
    return _seal_chunk_from_parts(DEVICES[uploader], "alice", seq, entries, backup_public=None, recipient_key_id=b"",
                                  sibling=DEVICES[to].public, ephemeral=seed(f"backup/ephemeral/{uploader}/{seq}")
                                  ).raw.hex()


def write_pinned_backup() -> None:
    """The X-Wing backup chunks, made once (X-Wing encapsulation draws its own randomness)."""
    from ..users.backup_chunk import seal_chunk
    from ..users.backup_info import BackupInfo

    info = BackupInfo.from_bytes(bytes.fromhex(info_hex()))
    entries = _entries("alice/phone", (1, 2))
    chunk = seal_chunk(DEVICES["alice/phone"], "alice", 1, entries, backup_public=info.public,
                       recipient_key_id=info.key_id)
    path = pinned_path().parent / "backup.json"
    path.write_text(json.dumps({"phone-backup-1": chunk.raw.hex()}, indent=1, sort_keys=True) + "\n")


def _pinned_chunk() -> str:
    return str(json.loads((pinned_path().parent / "backup.json").read_text())["phone-backup-1"])


def _session(steps: list[dict[str, Any]], lists: tuple[str, ...] = ("alice-3", "bob-1")) -> dict[str, Any]:
    return {"owner": private_obj(DEVICES["alice/tablet"]), "allow_unsigned": False, "directory": [], "anchors": [],
            "steps": [{"add_device_list": list_hex(n), "identities": []} for n in lists] + steps}


def _info_cases() -> list[Case]:
    alice = user_obj("alice")
    out = [valid("backup-info-recovery-key", "backup_info", "alice's backup info, opened with its recovery key",
                 {"info": info_hex(), "user": alice, "recovery_key": SECRET.recovery_key()}),
           valid("backup-info-passphrase", "backup_info", "a passphrase backup (Argon2id 8 MiB, 1 pass)",
                 {"info": info_hex("passphrase"), "user": alice, "passphrase": b"correct horse".hex()})]
    raw = bytes.fromhex(info_hex("passphrase"))
    memory_at = 4 + 1 + 5 + 4 + 1 + 16
    weakened = raw[:memory_at] + (8192 + 1).to_bytes(4, "big") + raw[memory_at + 4:]
    fail = {
        "backup-info-other-user-key": ({"info": info_hex(), "user": user_obj("mallory") | {"user": "alice"}}, "E_AUTH",
                                       "MR-BACKUP-INFO", "verified under another key than alice's"),
        "backup-info-weakened-cost": ({"info": weakened.hex(), "user": alice}, "E_AUTH", "MR-BACKUP-INFO",
                                      "the server changed the Argon2id memory cost"),
        "backup-info-kdf-3": ({"info": (raw[:10 + 4] + b"\x03" + raw[15:]).hex(), "user": alice}, "E_FORMAT",
                              "MR-BACKUP-FORMAT", "an unknown key derivation"),
        "backup-wrong-passphrase": ({"info": info_hex("passphrase"), "user": alice, "passphrase": b"wrong".hex()},
                                    "E_AUTH", "MR-BACKUP-SECRET", "a wrong passphrase"),
        "backup-wrong-recovery-key": ({"info": info_hex(), "user": alice,
                                       "recovery_key": BackupSecret(seed("backup/other")).recovery_key()}, "E_AUTH",
                                      "MR-BACKUP-SECRET", "another backup's recovery key"),
        "backup-passphrase-for-recovery-key": ({"info": info_hex(), "user": alice, "passphrase": b"x".hex()}, "E_FORMAT",
                                               "MR-BACKUP-SECRET", "a passphrase given for a recovery-key backup"),
        "backup-recovery-key-for-passphrase": ({"info": info_hex("passphrase"), "user": alice,
                                                "recovery_key": SECRET.recovery_key()}, "E_FORMAT", "MR-BACKUP-SECRET",
                                               "a recovery key given for a passphrase backup"),
        "backup-mistyped-recovery-key": ({"info": info_hex(), "user": alice,
                                          "recovery_key": _typo(SECRET.recovery_key())}, "E_FORMAT",
                                         "MR-BACKUP-SECRET", "one character of the recovery key mistyped"),
    }
    return out + [invalid(k, "backup_info", why, i, code, reject) for k, (i, code, reject, why) in fail.items()]


def _typo(text: str) -> str:
    at = len(text) // 2
    return text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1:]


def _restore_cases() -> list[Case]:
    phone = _entries("alice/phone", (1, 2))
    laptop = _entries("alice/laptop", (1,))
    bad_key = [phone[0], dataclasses.replace(phone[1], secret=seed("backup/not-the-key"))]
    bare_tail = [phone[0], dataclasses.replace(phone[1], kind=CHAINED, data=_header_of(2))]
    cases = {
        "backup-share-from-sibling": ([share_hex("alice/phone", 1, phone)], "alice/phone shares epochs 1 and 2"),
        "backup-share-revoked-device": ([share_hex("alice/laptop", 3, laptop), share_hex("alice/laptop", 4, laptop)],
                                        "the laptop's chunk 3 (its last before removal) counts, chunk 4 is refused"),
        "backup-share-key-not-the-headers": ([share_hex("alice/phone", 2, bad_key)],
                                             "epoch 2's key does not match its header's key id: the room is refused"),
        "backup-share-bare-tail": ([share_hex("alice/phone", 3, bare_tail)],
                                   "the newest entry is a bare header nothing vouches for: the room is refused"),
        "backup-share-foreign-uploader": ([_forged_uploader(phone)], "a chunk by a device alice never listed"),
        "backup-share-not-in-chain": ([share_hex("alice/phone", 5, [phone[0], _off_chain()])],
                                      "an admin-signed epoch 2 whose previous is not epoch 1's hash: the room is refused"),
    }
    out = [valid(k, "session", why, _session([{"accept_share": chunks}])) for k, (chunks, why) in cases.items()]
    reported = {"backup-share-revoked-device": "MR-BACKUP-UPLOADER", "backup-share-foreign-uploader": "MR-BACKUP-UPLOADER",
                "backup-share-key-not-the-headers": "MR-BACKUP-CHAIN", "backup-share-bare-tail": "MR-BACKUP-CHAIN",
                "backup-share-not-in-chain": "MR-BACKUP-CHAIN"}
    for case in out:  # a restore reports what it refused: the case succeeds, and cites the item its output shows
        if case["id"] in reported:
            case["reject"] = reported[case["id"]]
    out.append(valid("backup-restore-recovery-key", "session",
                     "alice/tablet restores alice's backup with the recovery key, no other device online",
                     _session([{"restore": {"info": info_hex(), "recovery_key": SECRET.recovery_key(),
                                            "chunks": [_pinned_chunk()]}}])))
    out.append(invalid("backup-restore-wrong-recovery-key", "session", "the restore refuses another backup's key",
                       _session([{"restore": {"info": info_hex(), "chunks": [_pinned_chunk()],
                                              "recovery_key": BackupSecret(seed("backup/other")).recovery_key()}}]),
                       "E_AUTH", "MR-BACKUP-SECRET"))
    return out


def _off_chain() -> BackupEntry:
    from ..group.bundle import Bundle
    from .users_defects import hand_bundle

    digest = {n: __import__("domvia_e2ee.users.device_list", fromlist=["DeviceList"]).DeviceList.from_bytes(
        bytes.fromhex(list_hex(n))).digest for n in ("alice-2", "bob-1")}
    data = hand_bundle(2, {"alice/phone": digest["alice-2"], "bob/phone": digest["bob-1"]},
                       [list_hex("alice-2"), list_hex("bob-1")], previous=seed("backup/another-epoch-1"))
    bundle = Bundle.from_bytes(bytes.fromhex(data))
    key = seed(f"room-u/hand/2/{sorted({'alice/phone': digest['alice-2'], 'bob/phone': digest['bob-1']}.items())}")
    return BackupEntry(ROOM, 2, 1, bundle.announcement().to_bytes(), key)


def _header_of(number: int) -> bytes:
    from ..group.bundle import Bundle

    return Bundle.from_bytes(bytes.fromhex(epoch(number)["bundle"])).header.to_bytes()


def _forged_uploader(entries: list[BackupEntry]) -> str:
    from ..identity import Identity

    stranger = Identity("alice/stranger", x25519_private=seed("backup/stranger/x"), ed25519_seed=seed("backup/stranger/ed"))
    return _seal_chunk_from_parts(stranger, "alice", 1, entries, backup_public=None, recipient_key_id=b"",
                                  sibling=DEVICES["alice/tablet"].public, ephemeral=seed("backup/stranger/e")).raw.hex()


def cases() -> list[Case]:
    return _info_cases() + _restore_cases()
