"""`devices new|add|remove|rekey|show`: a user's signed, versioned device list (spec/users.md).

A device list file holds the list's bytes as signed (DVL). Every change writes the next version,
signed by the user key, over the file (atomically, under its lock): members refuse an older list
(E_ROLLBACK), so a list only moves forward.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from .. import storage
from ..errors import PolicyError
from ..identity import PublicIdentity
from ..storage import PUBLIC_MODE, FileError, Staged
from ..users.device_list import MAX_LIST_BYTES, DeviceList, next_device_list, sign_device_list
from ..users.user_key import UserKey, UserPublicKey, device_user
from .io import UsageError, emit_ok, plural, refuse_existing, wants_json
from .session import concerning, locked, read_public
from .user_cmd import add_user_key_option, load_user_key, read_user_public

EPILOG: Final = """\
A device is a participant whose id is USER/NAME (`identity new --id alice/phone`); its list names
it by id and identity fingerprint. A removed device, or a device's replaced keys, stays on the list
as revoked, with the last key backup chunk it may have written (--backup-seq: the last chunk number
the server shows for it, 0 if none): its later chunks are refused. Give the new list to every
member (`keyring add-devices`), and have an admin rotate each room (`room rotate`).

examples:
  domvia-e2ee devices new --user-key alice.user -o alice.devices alice-phone.pub alice-laptop.pub
  domvia-e2ee devices add --user-key alice.user alice.devices alice-tablet.pub
  domvia-e2ee devices remove --user-key alice.user alice.devices alice/laptop --backup-seq 3
  domvia-e2ee devices rekey --user-key alice.user alice.devices alice-phone-new.pub --backup-seq 7
  domvia-e2ee devices show alice.devices --user alice.user.pub
"""
Edit = Callable[[DeviceList], tuple[list["_Listed"], dict[str, int], dict[str, Any]]]


@dataclass(frozen=True)
class _Listed:
    """A device as the list holds it. sign_device_list reads only a device's id and fingerprint, and a list
    holds no more of a device, so kept devices go back in as this rather than as full public identities."""

    participant_id: str
    fingerprint: bytes


def register(commands: Any) -> None:
    group = commands.add_parser("devices", help="create and change a user's signed device list")
    sub = group.add_subparsers(dest="devices_command", required=True, metavar="ACTION")
    new = _leaf(sub, "new", "create version 1 of a device list")
    new.add_argument("-o", "--output", metavar="FILE", required=True, help="the device list file to create")
    new.add_argument("devices", metavar="PUBLIC", nargs="+", help="public identity files of the devices (1 to 16)")
    new.set_defaults(handler=devices_new)
    add = _leaf(sub, "add", "add devices: writes the next version")
    add.add_argument("list", metavar="LIST", help="the device list file")
    add.add_argument("devices", metavar="PUBLIC", nargs="+", help="public identity files of the new devices")
    add.set_defaults(handler=devices_add)
    remove = _leaf(sub, "remove", "remove (revoke) a device: writes the next version")
    remove.add_argument("list", metavar="LIST", help="the device list file")
    remove.add_argument("device_id", metavar="ID", help="the device id (USER/NAME)")
    _backup_seq(remove, "the removed device")
    remove.set_defaults(handler=devices_remove)
    rekey = _leaf(sub, "rekey", "replace a device's keys (same id, new identity): writes the next version")
    rekey.add_argument("list", metavar="LIST", help="the device list file")
    rekey.add_argument("device", metavar="PUBLIC", help="the device's new public identity file")
    _backup_seq(rekey, "the device's old keys")
    rekey.set_defaults(handler=devices_rekey)
    show = sub.add_parser("show", help="verify a device list under its user key and show it", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("list", metavar="LIST", help="the device list file")
    show.add_argument("--user", metavar="PUBLIC", required=True, help="the user's public key file (.user.pub)")
    show.set_defaults(handler=devices_show)


def _leaf(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary + ".", epilog=EPILOG,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_user_key_option(parser)
    return parser


def _backup_seq(parser: argparse.ArgumentParser, whose: str) -> None:
    parser.add_argument("--backup-seq", metavar="N", type=int, required=True,
                        help=f"the last key backup chunk number the server shows for {whose} (0 if none)")


def safety_number(fingerprint: bytes) -> str:
    """A device's safety number from its identity fingerprint, grouped as identity.md groups it."""
    return " ".join(f"{int.from_bytes(fingerprint[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def describe(device_list: DeviceList) -> dict[str, Any]:
    """The --json view of a verified list."""
    user = device_list.user_key
    return {"user": user.user_id, "user_fingerprint": user.fingerprint.hex(), "user_safety_number": user.safety_number,
            "version": device_list.version, "issued_at": device_list.issued_at, "digest": device_list.digest.hex(),
            "devices": [{"id": d.device_id, "fingerprint": d.fingerprint.hex(), "safety_number": safety_number(d.fingerprint)}
                        for d in device_list.devices],
            "revoked": [{"id": d.device_id, "fingerprint": d.fingerprint.hex(), "backup_seq_limit": d.backup_seq_limit}
                        for d in device_list.revoked]}


def read_list(path: str, user: UserPublicKey | None) -> DeviceList:
    """A device list file, verified under its own key and, when given, ``user`` (E_UNAUTHORIZED otherwise)."""
    data = storage.read_file(path, limit=MAX_LIST_BYTES)
    with concerning(path, "not a valid device list: "):
        return DeviceList.from_bytes(data).verify(user)
    raise AssertionError("unreachable")  # pragma: no cover - concerning() re-raises


def _devices_of(user: UserKey, paths: list[str]) -> list[PublicIdentity]:
    devices = [read_public(path) for path in paths]
    seen: dict[str, str] = {}
    for path, device in zip(paths, devices, strict=True):
        if device_user(device.participant_id) != user.user_id:
            raise FileError(path, f"is {device.participant_id!r}, not a device of user {user.user_id!r} "
                            f"(a device's id is {user.user_id}/NAME)", code=PolicyError.code)
        if device.participant_id in seen:
            raise UsageError(f"{path} and {seen[device.participant_id]} are both {device.participant_id!r}")
        seen[device.participant_id] = path
    return devices


def devices_new(args: argparse.Namespace) -> int:
    refuse_existing(args.output)
    user = load_user_key(args).user
    devices = _devices_of(user, args.devices)
    with concerning(args.output, "cannot sign the list: "):
        device_list = sign_device_list(user, version=1, devices=devices, issued_at=int(time.time()))
    Staged(args.output, device_list.to_bytes(), mode=PUBLIC_MODE, exclusive=True).commit()
    return _report(args, args.output, device_list, {"created": True})


def devices_add(args: argparse.Namespace) -> int:
    def edit(current: DeviceList) -> tuple[list[_Listed], dict[str, int], dict[str, Any]]:
        joining = _devices_of(user, args.devices)
        for device in joining:
            if current.device(device.participant_id) is not None:
                raise UsageError(f"{device.participant_id} is already on the list",
                                 hint="to replace its keys, use `devices rekey`")
        return _kept(current) + [_Listed(d.participant_id, d.fingerprint) for d in joining], {}, {
            "added": [d.participant_id for d in joining]}
    user = load_user_key(args).user
    return _update(args, user, edit)


def devices_remove(args: argparse.Namespace) -> int:
    def edit(current: DeviceList) -> tuple[list[_Listed], dict[str, int], dict[str, Any]]:
        if current.device(args.device_id) is None:
            raise UsageError(f"{args.device_id} is not on version {current.version} of the list")
        kept = [d for d in _kept(current) if d.participant_id != args.device_id]
        if not kept:
            raise UsageError("a device list keeps at least one device")
        return kept, {args.device_id: args.backup_seq}, {"removed": args.device_id, "backup_seq": args.backup_seq}
    _check_seq(args.backup_seq)
    user = load_user_key(args).user
    return _update(args, user, edit)


def devices_rekey(args: argparse.Namespace) -> int:
    def edit(current: DeviceList) -> tuple[list[_Listed], dict[str, int], dict[str, Any]]:
        (device,) = _devices_of(user, [args.device])
        listed = current.device(device.participant_id)
        if listed is None:
            raise UsageError(f"{device.participant_id} is not on the list", hint="to add a device, use `devices add`")
        if listed.fingerprint == device.fingerprint:
            raise UsageError(f"{args.device} holds the keys {device.participant_id} already has")
        kept = [d if d.participant_id != device.participant_id else _Listed(d.participant_id, device.fingerprint)
                for d in _kept(current)]
        return kept, {device.participant_id: args.backup_seq}, {"rekeyed": device.participant_id,
                                                                "backup_seq": args.backup_seq}
    _check_seq(args.backup_seq)
    user = load_user_key(args).user
    return _update(args, user, edit)


def _check_seq(seq: int) -> None:
    if not 0 <= seq <= 0xFFFFFFFF:
        raise UsageError("--backup-seq is from 0 to 2^32 - 1")


def _kept(current: DeviceList) -> list[_Listed]:
    return [_Listed(d.device_id, d.fingerprint) for d in current.devices]


def _update(args: argparse.Namespace, user: UserKey, edit: Edit) -> int:
    with locked(args.list):
        current = read_list(args.list, user.public)
        devices, seqs, extra = edit(current)
        with concerning(args.list, "cannot sign the next version: "):
            device_list = next_device_list(user, current, devices=cast("list[PublicIdentity]", devices),
                                           backup_seqs=seqs, issued_at=max(int(time.time()), current.issued_at))
        Staged(args.list, device_list.to_bytes(), mode=PUBLIC_MODE).commit()
    return _report(args, args.list, device_list, extra)


def _report(args: argparse.Namespace, path: str, device_list: DeviceList, extra: dict[str, Any]) -> int:
    if wants_json(args):
        emit_ok({**describe(device_list), **extra, "file": path})
        return 0
    ids = ", ".join(d.device_id for d in device_list.devices)
    print(f"wrote version {device_list.version} of {device_list.user_id}'s device list to {path}: "
          f"{plural(len(device_list.devices), 'device')} ({ids}), {len(device_list.revoked)} revoked")
    return 0


def devices_show(args: argparse.Namespace) -> int:
    user = read_user_public(args.user)
    device_list = read_list(args.list, user)
    if wants_json(args):
        emit_ok({**describe(device_list), "file": args.list})
        return 0
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(device_list.issued_at))
    print(f"user:     {user.user_id} (safety number {user.safety_number})")
    print(f"version:  {device_list.version}, issued {issued}, signed by the user key")
    for device in device_list.devices:
        print(f"device    {device.device_id}  safety number {safety_number(device.fingerprint)}  "
              f"fingerprint {device.fingerprint.hex()[:16]}…")
    for gone in device_list.revoked:
        print(f"revoked   {gone.device_id}  fingerprint {gone.fingerprint.hex()[:16]}…  "
              f"backup chunks up to {gone.backup_seq_limit}")
    return 0
