"""`keyring pin-user` and `keyring add-devices`: the users a key ring knows (spec/users.md, "What a
member holds"). A user is pinned once, by the safety number of its user key; its devices are then
trusted through its signed device list, which only moves forward (E_ROLLBACK)."""

from __future__ import annotations

import argparse
from typing import Any, Final

from ..errors import PolicyError
from ..storage import FileError
from ..users.device_list import MAX_LIST_BYTES, DeviceList
from .. import storage
from .device_cmd import describe as describe_list
from .io import emit_ok, note, wants_json
from .session import add_identity_options, concerning, keyring_session, read_public
from .user_cmd import describe as describe_user, read_user_public

ADD_EPILOG: Final = """\
LIST is a user's device list file (`devices new|add|remove|rekey`). It must be signed by the user
key you pinned for that user (`keyring pin-user`); a user you have not pinned is pinned from the
list, and its safety number is shown: compare it out of band. A list older than the newest you hold
for that user, or another list of the same version, is refused (E_ROLLBACK) and nothing changes.
--device pins a listed device's public identity, which a room admin needs to wrap keys to it.

example:
  domvia-e2ee keyring add-devices -I alice-phone.id alice.devices --device alice-laptop.pub
"""


def register(sub: Any) -> None:
    pin = sub.add_parser("pin-user", help="pin a user's key after comparing its safety number",
                         description="Pins the user key of a .user.pub file: device lists of that user must be "
                                     "signed by it (E_UNAUTHORIZED otherwise).")
    pin.add_argument("user", metavar="PUBLIC", help="the user's public key file (.user.pub)")
    add_identity_options(pin)
    pin.add_argument("--replace", action="store_true", help="replace a pinned user key that changed (checked out of band)")
    pin.set_defaults(handler=keyring_pin_user)
    add = sub.add_parser("add-devices", help="verify and hold a user's device list", epilog=ADD_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("list", metavar="LIST", help="the device list file")
    add_identity_options(add)
    add.add_argument("--device", metavar="PUBLIC", action="append", default=[],
                     help="a listed device's public identity file (repeatable)")
    add.set_defaults(handler=keyring_add_devices)


def keyring_pin_user(args: argparse.Namespace) -> int:
    user = read_user_public(args.user)
    with keyring_session(args, create=True) as session:
        pinned = session.ring.users.pinned(user.user_id)
        if pinned is not None and pinned != user and not args.replace:
            raise FileError(args.user, f"user {user.user_id!r} is pinned with another key (safety number "
                            f"{pinned.safety_number}, now {user.safety_number})", code=PolicyError.code,
                            hint="if the change is genuine (checked out of band), pass --replace")
        session.ring.pin_user(user, replace=args.replace)
        session.commit()
    changed = pinned is None or pinned != user
    if wants_json(args):
        emit_ok({**describe_user(user), "keyring": str(session.path), "created": session.new, "changed": changed})
        return 0
    if session.new:
        note(f"created key ring {session.path}")
    print(f"{'pinned' if changed else 'already pinned'} user {user.user_id}: safety number {user.safety_number}")
    return 0


def keyring_add_devices(args: argparse.Namespace) -> int:
    data = storage.read_file(args.list, limit=MAX_LIST_BYTES)
    devices = [read_public(path) for path in args.device]
    with keyring_session(args, create=True) as session:
        ring = session.ring
        with concerning(args.list, "not a valid device list: "):
            user_id = DeviceList.from_bytes(data).user_id
        first_pin = ring.users.pinned(user_id) is None
        with concerning(args.list, "refused: "):
            device_list = ring.add_device_list(data, devices)
        session.commit()
    if wants_json(args):
        emit_ok({**describe_list(device_list), "file": args.list, "keyring": str(session.path),
                 "created": session.new, "pinned_user": first_pin, "devices_pinned": [d.participant_id for d in devices]})
        return 0
    if session.new:
        note(f"created key ring {session.path}")
    if first_pin:
        note(f"pinned user {user_id} from this list: safety number {device_list.user_key.safety_number}; "
             "compare it out of band")
    print(f"holding version {device_list.version} of {user_id}'s device list: "
          f"{', '.join(d.device_id for d in device_list.devices)}")
    return 0
