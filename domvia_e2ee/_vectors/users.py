"""Vectors of users and devices (spec/users.md): device lists, and a room of users accepted in a key ring.

room-u: alice (alice/phone, the admin; alice/laptop) and bob (bob/phone). Epoch 1 uses both users' first
lists; epoch 2 uses alice's second list (the laptop lost and revoked). Every must-fail case is its valid
twin with one named defect, and the twin is checked to pass first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..conformance_registry import all_ops
from ..group.header import NO_PREVIOUS
from ..users.user_key import UserKey
from .fixtures import Case, identity, invalid, private_obj, seed, valid

ROOM = "room-u"
ISSUED_AT = 1764000000
USERS = {u: UserKey(u, seed=seed(f"user/{u}")) for u in ("alice", "bob", "mallory")}
DEVICES = {d: identity(d) for d in ("alice/phone", "alice/laptop", "bob/phone", "bob/tablet", "alice/tablet")}


def _op(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return all_ops()[name]


def list_inputs(user: str, devices: tuple[str, ...], version: int = 1, revoked: tuple[str, ...] = (),
                seed_user: str | None = None) -> dict[str, Any]:
    return {"user_id": user, "user_seed": seed(f"user/{seed_user or user}").hex(), "version": version,
            "issued_at": ISSUED_AT + version, "devices": [DEVICES[d].public.to_dict() for d in devices],
            "revoked": [{"id": d, "fingerprint": DEVICES[d].public.fingerprint.hex(), "backup_seq_limit": 3}
                        for d in revoked]}


@functools.cache
def list_hex(name: str) -> str:
    specs = {"alice-1": ("alice", ("alice/phone", "alice/laptop"), 1, ()),
             "alice-2": ("alice", ("alice/phone",), 2, ("alice/laptop",)),
             "alice-3": ("alice", ("alice/phone", "alice/tablet"), 3, ("alice/laptop",)),
             "bob-1": ("bob", ("bob/phone",), 1, ())}
    user, devices, version, revoked = specs[name]
    return str(_op("build_device_list")(list_inputs(user, devices, version, revoked))["list"])


def user_obj(user: str) -> dict[str, Any]:
    return USERS[user].public.to_dict()


def _bundle_inputs(epoch: int, lists: tuple[str, ...], members: tuple[str, ...], previous: str) -> dict[str, Any]:
    return {"rotator": private_obj(DEVICES["alice/phone"]), "secret": seed(f"room-u/{epoch}/{lists}").hex(),
            "suite": "A256GCM", "kem": 1, "room_id": ROOM, "epoch": epoch, "previous": previous,
            "issued_at": ISSUED_AT + epoch, "flags": 0, "max_messages": 100, "max_age_seconds": 604800,
            "admins": [["alice/phone", DEVICES["alice/phone"].public.fingerprint.hex()]],
            "members": [DEVICES[m].public.to_dict() for m in members],
            "ephemerals": {m: seed(f"room-u/ephemeral/{m}/{epoch}").hex() for m in members}, "authority": None,
            "lists": [list_hex(n) for n in lists]}


@functools.cache
def epoch(number: int) -> dict[str, Any]:
    if number == 1:
        inputs = _bundle_inputs(1, ("alice-1", "bob-1"), ("alice/phone", "alice/laptop", "bob/phone"), NO_PREVIOUS.hex())
    else:
        inputs = _bundle_inputs(2, ("alice-2", "bob-1"), ("alice/phone", "bob/phone"), str(epoch(1)["epoch_hash"]))
    return _op("build_bundle")(inputs)


def _session(owner: str, steps: list[dict[str, Any]], lists: tuple[str, ...] = ("alice-1", "bob-1")) -> dict[str, Any]:
    first = [{"add_device_list": list_hex(n), "identities": []} for n in lists]
    return {"owner": private_obj(DEVICES[owner]), "allow_unsigned": False,
            "directory": [DEVICES["alice/phone"].public.to_dict()],
            "anchors": [{"room_id": ROOM, "id": "alice/phone"}], "steps": first + steps}


def _list_cases() -> list[Case]:
    out = [valid(f"device-list-build-{n}", "build_device_list", f"the signed device list {n}",
                 list_inputs(*spec)) for n, spec in (("alice-1", ("alice", ("alice/phone", "alice/laptop"))),
                                                    ("bob-1", ("bob", ("bob/phone",))))]
    out.append(valid("device-list-build-revoking", "build_device_list", "alice's second list: the laptop revoked",
                     list_inputs("alice", ("alice/phone",), 2, ("alice/laptop",))))
    for name in ("alice-1", "alice-2", "bob-1"):
        out.append(valid(f"device-list-parse-{name}", "device_list", f"device list {name}, verified",
                         {"list": list_hex(name), "pinned": None}))
    out.append(valid("device-list-pinned", "device_list", "verified under the pinned user key",
                     {"list": list_hex("alice-1"), "pinned": user_obj("alice")}))
    return out + _list_failures()


def _resign(body: bytes) -> str:
    """body (a list without its signature) signed again by alice's user key: the defect is then the only fault."""
    from .. import labels

    return (body + USERS["alice"].sign(labels.SIG_DEVICE_LIST + body)).hex()


def _list_failures() -> list[Case]:
    good = bytes.fromhex(list_hex("alice-1"))
    body = good[:-64]
    phone = DEVICES["alice/phone"].public
    at_devices = 4 + 1 + len("alice") + 32 + 4 + 8
    first = 1 + len("alice/laptop") + 32
    swapped = body[:at_devices + 1] + body[at_devices + 1 + first:at_devices + 1 + first + 1 + 11 + 32] \
        + body[at_devices + 1:at_devices + 1 + first] + body[at_devices + 1 + first + 1 + 11 + 32:]
    version_at = 4 + 1 + len("alice") + 32
    cases: dict[str, tuple[str, dict[str, Any] | None, str, str, str]] = {
        "device-list-version-2-magic": (b"DVL\x02".hex() + good.hex()[8:], None, "E_FORMAT", "MR-LIST-FORMAT",
                                        "a format version 2 magic"),
        "device-list-version-0": (_resign(body[:version_at] + bytes(4) + body[version_at + 4:]), None, "E_FORMAT",
                                  "MR-LIST-FORMAT", "list version 0"),
        "device-list-unsorted-devices": (_resign(swapped), None, "E_FORMAT", "MR-LIST-FORMAT",
                                         "alice/phone before alice/laptop"),
        "device-list-foreign-device": (_resign(body.replace(b"\x0calice/laptop", b"\x0calice/lapto/", 1)), None,
                                       "E_FORMAT", "MR-LIST-FORMAT", "a device id that is not alice/name"),
        "device-list-revoked-still-listed": (_resign(body[:-1] + b"\x01" + bytes([len(phone.participant_id)])
                                                     + phone.participant_id.encode() + phone.fingerprint + bytes(4)),
                                             None, "E_FORMAT", "MR-LIST-FORMAT", "alice/phone both listed and revoked"),
        "device-list-trailing-byte": (good.hex() + "00", None, "E_FORMAT", "MR-LIST-FORMAT", "a byte after the signature"),
        "device-list-bad-signature": (good[:-1].hex() + bytes([good[-1] ^ 1]).hex(), None, "E_AUTH", "MR-LIST-SIG",
                                      "the signature's last byte flipped"),
        "device-list-other-user-key": (str(_op("build_device_list")(list_inputs("alice", ("alice/phone",), 3,
                                                                                seed_user="mallory"))["list"]),
                                       user_obj("alice"), "E_UNAUTHORIZED", "MR-LIST-PINNED",
                                       "signed by mallory's key under alice's id, alice's key pinned"),
    }
    out = []
    for case_id, (data, pinned, code, reject, why) in cases.items():
        out.append(invalid(case_id, "device_list", why, {"list": data, "pinned": pinned}, code, reject))
    return out


def _session_cases() -> list[Case]:
    b1, b2 = epoch(1), epoch(2)
    ok = [valid("users-bob-joins", "session", "bob's phone joins a room of users on its slice",
                _session("bob/phone", [{"accept": b1["slices"]["bob/phone"]}])),
          valid("users-laptop-full-bundle", "session", "alice's laptop checks every device of epoch 1's full bundle",
                _session("alice/laptop", [{"accept": b1["bundle"]}])),
          valid("users-laptop-removed", "session",
                "epoch 2 leaves out the laptop, which alice's second list revoked: the laptop keeps the chain as a link",
                _session("alice/laptop", [{"accept": b1["bundle"]}, {"accept": b2["bundle"]}])),
          valid("users-sender-proof", "session", "a slice holder learns bob's phone from its member proof and list",
                _session("alice/laptop", [{"accept": b1["slices"]["alice/laptop"]},
                                          {"accept": _op("member_proof")({"bundle": b1["bundle"], "id": "bob/phone"})
                                           ["proof"]}]))]
    return ok + _session_failures()


def _session_failures() -> list[Case]:
    from .users_defects import session_failures

    return session_failures(_session, epoch, list_hex)


def cases() -> list[Case]:
    return _list_cases() + _session_cases()


