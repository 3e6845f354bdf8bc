"""`room create|add|remove|rotate|show`: the rotating member's commands.

The room state file (no secrets) and the key ring (the keys) change together; see
storage.commit_rotation for the order that keeps them consistent across a crash.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import storage
from ..encoding import check_id
from ..errors import DomviaError
from ..group.bundle import Bundle
from ..group.header import RoomPolicy
from ..group.room import Room, Rotation
from ..hazmat.suites import DEFAULT_SUITE, Suite
from ..identity import PublicIdentity
from ..storage import FileError
from ..wrap import WrapKem
from . import room_admin_cmd, room_users_cmd
from .io import ProgressBar, UsageError, emit_ok, plural, wants_json
from .room_common import (
    add_outputs, age, change, commit, duration, leaf, members_line, report, report_outputs, stage_outputs, summary,
)
from .session import Session, concerning, keyring_session, load_identity, locked, read_public


def register(commands: Any) -> None:
    group = commands.add_parser("room", help="create a room and change its members (rotates keys)")
    sub = group.add_subparsers(dest="room_command", required=True, metavar="ACTION")
    create = leaf(sub, "create", "create a room at epoch 1 with you as its admin")
    create.add_argument("--room", required=True, dest="room_id", help="the room id")
    create.add_argument("--member", metavar="PUBLIC", action="append", default=[],
                        help="a member's public identity file (repeatable)")
    create.add_argument("--user", metavar="USER", action="append", default=[], dest="users",
                        help="a member user: every device on its newest device list in your key ring "
                             "(`keyring add-devices`) is a member (repeatable)")
    create.add_argument("--suite", choices=[s.label for s in Suite], default=DEFAULT_SUITE.label,
                        help="message AEAD (default %(default)s)")
    create.add_argument("--post-quantum", action="store_true", help="wrap keys with X-Wing (ML-KEM-768 + X25519)")
    create.add_argument("--max-messages", type=int, default=RoomPolicy.max_messages, metavar="N",
                        help="rotation falls due after N messages (default %(default)s)")
    create.add_argument("--max-age", type=duration, default=RoomPolicy.max_age_seconds, metavar="AGE",
                        help="rotation falls due after AGE: seconds, or with a suffix s, m, h or d (default 7d)")
    create.add_argument("--admin", metavar="ID", action="append", default=[],
                        help="another member who is an admin from epoch 1 (repeatable)")
    create.add_argument("--members-may-rotate", action="store_true",
                        help="let any member rotate (not only admins); see spec/threat-model.md for its race")
    add_outputs(create)
    create.set_defaults(handler=room_create)
    add = leaf(sub, "add", "add members and rotate")
    add.add_argument("members", metavar="PUBLIC", nargs="+", help="public identity files of the joiners")
    add.add_argument("--share-history", metavar="EPOCH", type=int, action="append", default=[],
                     help="also wrap this past epoch's key to each joiner (repeatable; needs --history-dir)")
    add.add_argument("--history-dir", metavar="DIR", help="write one history bundle per joiner (DIR/ID.history)")
    add_outputs(add)
    add.set_defaults(handler=room_add)
    remove = leaf(sub, "remove", "remove members and rotate: they cannot read anything sealed afterwards")
    remove.add_argument("participants", metavar="ID", nargs="+", help="participant ids to remove")
    add_outputs(remove)
    remove.set_defaults(handler=room_remove)
    rotate = leaf(sub, "rotate", "rotate to a new epoch with the same members")
    rotate.add_argument("--if-due", action="store_true", help="rotate only if the rotation policy says it is due")
    add_outputs(rotate)
    rotate.set_defaults(handler=room_rotate)
    show = leaf(sub, "show", "show the epoch, members and whether a rotation is due")
    add_outputs(show, verb="write the current epoch's")
    show.set_defaults(handler=room_show)
    room_admin_cmd.register(sub)
    room_users_cmd.register(sub)


# -- handlers ------------------------------------------------------------------------------------


def room_create(args: argparse.Namespace) -> int:
    _check_room_id(args.room_id)
    members = _read_members(args.member)
    suite = Suite.from_label(args.suite)
    kem = WrapKem.MLKEM768_X25519 if args.post_quantum else WrapKem.X25519
    policy = _policy(args)
    owner = load_identity(args)
    with locked(args.state), keyring_session(args, create=True, owner=owner) as session:
        _check_creatable(args, session)
        with ProgressBar("wrapping room keys") as progress, concerning(args.state):
            room, rotation = Room.create(session.ring, args.room_id, members, users=args.users, suite=suite, kem=kem,
                                         policy=policy, admins=args.admin, progress=progress)
        commit(args, session, room, rotation, before=None)
    report(args, room, rotation, {"created": True})
    return 0


def _policy(args: argparse.Namespace) -> RoomPolicy:
    try:
        return RoomPolicy(args.max_messages, args.max_age, args.members_may_rotate)
    except DomviaError as error:
        raise UsageError(str(error)) from None


def _check_room_id(room_id: str) -> None:
    try:
        check_id(room_id, "--room")
    except DomviaError as error:
        raise UsageError(str(error)) from None


def _check_creatable(args: argparse.Namespace, session: Session) -> None:
    held = session.ring.latest_epoch(args.room_id)
    if held is not None:
        raise FileError(session.path, f"already holds room {args.room_id!r} (epoch {held})",
                        hint="choose another room id; a room is created once")
    if os.path.lexists(args.state) and not storage.is_interrupted_creation(args.state, session.ring):
        raise FileError(args.state, "already exists; refusing to overwrite it", code="E_IO",
                        hint="choose another state file name")


def room_add(args: argparse.Namespace) -> int:
    if args.share_history and not args.history_dir:
        raise UsageError("--share-history needs --history-dir")
    joiners = _read_members(args.members)
    return change(args, lambda room, progress: room.add(joiners, share_history=args.share_history,
                                                         progress=progress),
                   {"added": [j.participant_id for j in joiners]})


def room_remove(args: argparse.Namespace) -> int:
    return change(args, lambda room, progress: room.remove(args.participants, progress=progress),
                   {"removed": sorted(set(args.participants))})


def room_rotate(args: argparse.Namespace) -> int:
    return change(args, lambda room, progress: room.rotate(progress=progress), {})


def _read_members(paths: list[str]) -> list[PublicIdentity]:
    members = [read_public(path) for path in paths]
    seen: dict[str, str] = {}
    for path, member in zip(paths, members, strict=True):
        if member.participant_id in seen:
            raise UsageError(f"{path} and {seen[member.participant_id]} are both {member.participant_id!r}")
        seen[member.participant_id] = path
    return members


def room_show(args: argparse.Namespace) -> int:
    with keyring_session(args) as session:
        state = storage.load_room_state(args.state, session.ring)
    room = state.room
    if (args.bundle_out or args.slices_dir or args.proofs_dir or args.announcement_out) and not state.bundle:
        raise FileError(args.state, f"does not hold the bundle of epoch {room.epoch}: another admin made it",
                        hint="fetch that bundle from the product server")
    outputs = stage_outputs(args, Rotation(Bundle.from_bytes(state.bundle))) if state.bundle else []
    storage.commit_all(outputs)
    if wants_json(args):
        emit_ok({**summary(room), "state": args.state, "recovered": state.recovered,
                 "bundle_file": args.bundle_out, "slices_dir": args.slices_dir, "proofs_dir": args.proofs_dir,
                 "announcement_file": args.announcement_out})
        return 0
    info = summary(room)
    due = ", ".join(info["rotation_due"])
    rows = [("room", room.room_id), ("epoch", str(room.epoch)), ("members", members_line(room, 50)),
            ("admins", ", ".join(room.admins)),
            ("suite", f"{room.suite.label}, keys wrapped with {room.kem.name}"),
            ("policy", f"rotate after {plural(room.policy.max_messages, 'message')} or {age(room.policy.max_age_seconds)}"),
            ("messages", f"{info['messages']} in this epoch"), ("rotation due", f"yes ({due})" if due else "no"),
            ("state", f"{args.state}" + (f" (interrupted rotation {state.recovered})" if state.recovered else ""))]
    for name, value in rows:
        print(f"{name + ':':<14}{value}")
    if args.bundle_out or args.slices_dir or args.proofs_dir or args.announcement_out:
        report_outputs(args, room, len(state.bundle), len(room.members))
    return 0
