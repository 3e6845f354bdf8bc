"""The must-fail session vectors of users and devices: epochs an admin (alice/phone) signs with one named
defect in the device lists, which every member MUST refuse (spec/users.md, step 4b and the rollback rule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..group.bundle import Bundle, SignedHeader
from ..group.header import NO_PREVIOUS, EpochHeader, Flag, RoomPolicy
from ..group.members import Member
from ..hazmat import merkle
from ..keys import RoomKey
from ..users.device_list import NO_LIST, DeviceList
from ..wrap import WrapKem, _wrap_with_ephemeral
from .fixtures import Case, invalid, seed, valid

Session = Callable[..., dict[str, Any]]


def hand_bundle(epoch: int, members: dict[str, bytes], lists: list[str], previous: bytes = NO_PREVIOUS) -> str:
    """An epoch alice/phone signs with exactly these member entries (id -> list digest) and lists section."""
    from .users import DEVICES, ISSUED_AT, ROOM

    key = RoomKey(seed(f"room-u/hand/{epoch}/{sorted(members.items())}"), room_id=ROOM, epoch=epoch)
    ordered = sorted(members, key=str.encode)
    built = tuple(Member.make(DEVICES[m].public, _wrap_with_ephemeral(key, DEVICES[m].public,
                                                                      seed(f"room-u/hand/{m}/{epoch}")), members[m])
                  for m in ordered)
    tree = merkle.Tree([m.entry.leaf() for m in built])
    alice = DEVICES["alice/phone"]
    header = EpochHeader(WrapKem.X25519, key.suite, ROOM, epoch, key.key_id, previous, "alice/phone", ISSUED_AT,
                         Flag(0), RoomPolicy(100, 604800), (("alice/phone", alice.public.fingerprint),), len(built),
                         tree.root)
    parsed = tuple(DeviceList.from_bytes(bytes.fromhex(d)) for d in lists)
    return Bundle(SignedHeader(header, alice.sign(header.signed_bytes()), None), built, parsed).to_bytes().hex()


def _digest(list_hex: Callable[[str], str], name: str) -> bytes:
    return DeviceList.from_bytes(bytes.fromhex(list_hex(name))).digest


def session_failures(session: Session, epoch: Callable[[int], dict[str, Any]], list_hex: Callable[[str], str]) -> list[Case]:
    from .users import list_inputs
    from ..conformance_registry import all_ops

    a1, b1 = _digest(list_hex, "alice-1"), _digest(list_hex, "bob-1")
    everyone = {"alice/phone": a1, "alice/laptop": a1, "bob/phone": b1}
    twin = hand_bundle(1, everyone, [list_hex("alice-1"), list_hex("bob-1")])
    fake_alice = str(all_ops()["build_device_list"](list_inputs("alice", ("alice/phone", "alice/laptop"), 1,
                                                                seed_user="mallory"))["list"])
    fake_digest = DeviceList.from_bytes(bytes.fromhex(fake_alice)).digest
    back = all_ops()["build_bundle"](_rollback_inputs(epoch))["bundle"]
    twin_inputs = list_inputs("alice", ("alice/phone", "alice/laptop"), 1) | {"issued_at": 1}
    other_a1 = str(all_ops()["build_device_list"](twin_inputs)["list"])
    other_digest = DeviceList.from_bytes(bytes.fromhex(other_a1)).digest
    defects: dict[str, tuple[list[dict[str, Any]], str, str, str]] = {
        "users-device-not-on-list": ([{"accept": hand_bundle(1, everyone | {"bob/tablet": b1},
                                                             [list_hex("alice-1"), list_hex("bob-1")])}],
                                     "E_UNAUTHORIZED", "MR-USERS-NOT-LISTED", "bob/tablet named under bob's list, which lacks it"),
        "users-list-missing": ([{"accept": hand_bundle(1, everyone, [list_hex("alice-1")])}], "E_FORMAT",
                               "MR-USERS-LISTS", "bob's list, named by bob/phone's entry, is not in the lists section"),
        "users-list-extra": ([{"accept": hand_bundle(1, {"alice/phone": a1, "alice/laptop": a1},
                                                     [list_hex("alice-1"), list_hex("bob-1")])}], "E_FORMAT",
                             "MR-USERS-LISTS", "bob's list is carried though no entry names it"),
        "users-incomplete": ([{"accept": hand_bundle(1, {"alice/phone": a1, "bob/phone": b1},
                                                     [list_hex("alice-1"), list_hex("bob-1")])}], "E_UNAUTHORIZED",
                             "MR-USERS-INCOMPLETE", "alice/laptop, on alice's list, is left out"),
        "users-other-user-key": ([{"accept": hand_bundle(1, {"alice/phone": fake_digest, "alice/laptop": fake_digest,
                                                             "bob/phone": b1}, [fake_alice, list_hex("bob-1")])}],
                                 "E_UNAUTHORIZED", "MR-LIST-PINNED", "alice's list signed by another key than the pinned one"),
        "users-bare-device-id": ([{"accept": hand_bundle(1, {"alice/phone": a1, "alice/laptop": a1, "bob/phone": NO_LIST},
                                                         [list_hex("alice-1")])}], "E_FORMAT", "MR-USERS-LISTS",
                                 "bob/phone entered with no device list"),
        "users-equivocating-list": ([{"accept": hand_bundle(1, {"alice/phone": other_digest, "alice/laptop": other_digest,
                                                                "bob/phone": b1}, [other_a1, list_hex("bob-1")])}],
                                    "E_ROLLBACK", "MR-USERS-ROLLBACK",
                                    "a second, different version 1 list of alice, signed by her key, inside a bundle"),
        "users-rollback": ([{"accept": epoch(1)["bundle"]}, {"accept": epoch(2)["bundle"]}, {"accept": back}],
                           "E_ROLLBACK", "MR-USERS-ROLLBACK", "epoch 3 goes back to alice's first list, with the lost laptop"),
        "users-older-list": ([{"add_device_list": list_hex("alice-2"), "identities": []},
                              {"add_device_list": list_hex("alice-1"), "identities": []}], "E_ROLLBACK",
                             "MR-USERS-ROLLBACK", "alice's first list after her second"),
    }
    out = [valid("users-hand-built-twin", "session", "the valid twin of the hand-built defects below",
                 session("bob/phone", [{"accept": twin}]))]
    for case_id, (steps, code, reject, why) in defects.items():
        lists = () if case_id == "users-older-list" else ("alice-1", "bob-1")
        out.append(invalid(case_id, "session", why, session("bob/phone", steps, lists), code, reject))
    return out


def _rollback_inputs(epoch: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """Epoch 3, signed by the admin on top of epoch 2, with alice's first list (and its lost laptop) again."""
    from .users import _bundle_inputs

    return _bundle_inputs(3, ("alice-1", "bob-1"), ("alice/phone", "alice/laptop", "bob/phone"),
                          str(epoch(2)["epoch_hash"]))
