"""`room admins|policy|adopt`: governing a room. Only an admin changes a room's admins and policy;
`adopt` lets a co-admin take up a room another admin created, from the chain its key ring holds."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import storage
from ..errors import DomviaError, PolicyError
from ..group.header import RoomPolicy
from ..group.room import Room, Rotation
from ..hazmat.suites import Suite
from ..storage import FileError
from ..wrap import Progress, WrapKem
from .io import UsageError
from .io import emit_ok, wants_json
from .room_common import add_outputs, change, duration, leaf, summary
from .session import concerning, keyring_session, load_identity, locked


def register(sub: Any) -> None:
    admins = leaf(sub, "admins", "set the room's admins (members only) and rotate")
    admins.add_argument("admin_ids", metavar="ID", nargs="+", help="the complete new admin set")
    admins.add_argument("--step-down", action="store_true", help="allow an admin set without you")
    add_outputs(admins)
    admins.set_defaults(handler=room_admins)
    policy = leaf(sub, "policy", "change the signed rotation policy, suite or wrapping and rotate")
    policy.add_argument("--max-messages", type=int, metavar="N", help="rotation falls due after N messages")
    policy.add_argument("--max-age", type=duration, metavar="AGE", help="rotation falls due after AGE")
    policy.add_argument("--suite", choices=[s.label for s in Suite], help="message AEAD")
    policy.add_argument("--wrapping", choices=["classic", "post-quantum"], help="key wrapping KEM")
    policy.add_argument("--allow-downgrade", action="store_true",
                        help="needed to go from post-quantum to classic wrapping; members see the downgrade")
    add_outputs(policy)
    policy.set_defaults(handler=room_policy)
    adopt = leaf(sub, "adopt", "start a state file for a room your key ring holds (a co-admin's room)")
    adopt.add_argument("--room", required=True, dest="room_id", help="the room id")
    adopt.set_defaults(handler=room_adopt)


def room_admins(args: argparse.Namespace) -> int:
    def edit(room: Room, progress: Progress) -> Rotation:
        me = room.keyring.owner.participant_id
        if me not in args.admin_ids and not args.step_down:  # it could not change the room again
            raise UsageError(f"{me} would no longer be an admin: list yourself too, or pass --step-down")
        return room.set_admins(args.admin_ids, progress=progress)
    return change(args, edit, {"admins": sorted(set(args.admin_ids))})


def room_policy(args: argparse.Namespace) -> int:
    if all(getattr(args, name) is None for name in ("max_messages", "max_age", "suite", "wrapping")):
        raise UsageError("nothing to change: give --max-messages, --max-age, --suite or --wrapping")

    def edit(room: Room, progress: Progress) -> Rotation:
        old = room.policy
        try:
            policy = RoomPolicy(old.max_messages if args.max_messages is None else args.max_messages,
                                old.max_age_seconds if args.max_age is None else args.max_age, old.members_may_rotate)
        except DomviaError as error:
            raise UsageError(str(error)) from None
        kem = None if args.wrapping is None else (
            WrapKem.MLKEM768_X25519 if args.wrapping == "post-quantum" else WrapKem.X25519)
        suite = None if args.suite is None else Suite.from_label(args.suite)
        if kem is WrapKem.X25519 and room.kem is WrapKem.MLKEM768_X25519 and not args.allow_downgrade:
            raise FileError(args.state, "going from post-quantum to classic wrapping is a downgrade",
                            code=PolicyError.code,
                            hint="pass --allow-downgrade if it is meant; members see the downgrade in the header")
        return room.change_policy(policy=policy, suite=suite, kem=kem, allow_downgrade=args.allow_downgrade,
                                  progress=progress)
    return change(args, edit, {})


def room_adopt(args: argparse.Namespace) -> int:
    """A new state file derived from the key ring's chain: the room's newest epoch, key and full roster
    must be held (accept the full bundle first), as for any room command."""
    owner = load_identity(args)
    with locked(args.state), keyring_session(args, owner=owner) as session:
        if os.path.lexists(args.state):
            raise FileError(args.state, "already exists; refusing to overwrite it", code="E_IO",
                            hint="choose another state file name")
        with concerning(args.state):
            room = Room(session.ring, args.room_id)
        me = session.ring.owner.public
        header = session.ring.header(args.room_id)
        if not header.is_admin(me.participant_id, me.fingerprint) and not header.policy.members_may_rotate:
            raise FileError(args.state, f"{me.participant_id} is not an admin of room {args.room_id!r}: only admins "
                            "change it", code=PolicyError.code, hint="an admin adds you with `room admins`")
        storage.write_atomic(args.state, storage.dump_room_state(room, b""), exclusive=True)
    if wants_json(args):
        emit_ok({**summary(room), "state": args.state, "adopted": True})
    else:
        print(f"room {room.room_id}: epoch {room.epoch}, admins {', '.join(room.admins)}; state written to {args.state}")
    return 0
