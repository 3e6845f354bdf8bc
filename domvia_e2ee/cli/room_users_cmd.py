"""`room add-users|remove-users`: member users stand for every device on their newest device list
(spec/users.md, "Rotation"). A device's addition, loss or new keys needs no command here: hold the
user's new list (`keyring add-devices`) and `room rotate`."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import DomviaError
from ..users.user_key import check_user_id
from .io import UsageError
from .room_common import add_outputs, change, leaf


def register(sub: Any) -> None:
    add = leaf(sub, "add-users", "add member users (every device on each one's newest device list) and rotate")
    add.add_argument("users", metavar="USER", nargs="+", help="user ids whose device lists your key ring holds")
    add.add_argument("--share-history", metavar="EPOCH", type=int, action="append", default=[],
                     help="also wrap this past epoch's key to each of their devices (repeatable; needs --history-dir)")
    add.add_argument("--history-dir", metavar="DIR", help="write one history bundle per device (DIR/ID.history)")
    add_outputs(add)
    add.set_defaults(handler=room_add_users)
    remove = leaf(sub, "remove-users", "remove member users (all their devices) and rotate")
    remove.add_argument("users", metavar="USER", nargs="+", help="user ids to remove")
    add_outputs(remove)
    remove.set_defaults(handler=room_remove_users)


def _user_ids(values: list[str]) -> list[str]:
    try:
        return sorted({check_user_id(value, "USER") for value in values})
    except DomviaError as error:
        raise UsageError(str(error)) from None


def room_add_users(args: argparse.Namespace) -> int:
    if args.share_history and not args.history_dir:
        raise UsageError("--share-history needs --history-dir")
    users = _user_ids(args.users)
    return change(args, lambda room, progress: room.add_users(users, share_history=args.share_history,
                                                              progress=progress), {"added_users": users})


def room_remove_users(args: argparse.Namespace) -> int:
    users = _user_ids(args.users)
    return change(args, lambda room, progress: room.remove_users(users, progress=progress), {"removed_users": users})
