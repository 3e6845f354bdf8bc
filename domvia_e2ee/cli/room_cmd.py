"""`room create|add|remove|rotate|show`: the rotating member's commands.

The room state file (no secrets) and the key ring (the keys) change together; see
storage.commit_rotation for the order that keeps them consistent across a crash.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from typing import Any, Final

from .. import storage
from ..encoding import check_id
from ..errors import DomviaError, PolicyError
from ..hazmat.suites import DEFAULT_SUITE, Suite
from ..identity import PublicIdentity
from ..group.bundle import Bundle
from ..group.header import RoomPolicy
from ..group.keyring import KeyRing
from ..group.room import Room, Rotation
from ..storage import PUBLIC_MODE, FileError, RoomState, Staged, StagedDirectory
from ..wrap import Progress, WrapKem
from .io import ProgressBar, UsageError, emit_ok, note, wants_json
from .session import (
    Session, add_identity_options, concerning, keyring_session, load_identity, locked, read_public,
)

ROOM_EPILOG: Final = """\
The room's members, admins and policy are signed state kept in your key ring's chain of epochs;
the room state file only names the room and its epoch and keeps the last bundle (no secrets).
Only an admin changes a room (unless it was created with --members-may-rotate). Every change rotates the room to a new epoch and writes a signed bundle:
--bundle-out FILE for everyone, --slices-dir DIR for one small slice per member (DIR/ID.slice).
Without either, the bundle stays in the state file: `room show --bundle-out FILE` writes it.
Concurrent commands on one state file wait for each other; an interrupted one leaves the
files at the previous epoch or the new one, never in between.

examples:
  domvia-e2ee room create -I alice.id --state room-42.state --room room-42 --member bob.pub --member carol.pub --bundle-out b1.bin
  domvia-e2ee room remove -I alice.id --state room-42.state carol --bundle-out b2.bin
  domvia-e2ee room add -I alice.id --state room-42.state dave.pub --slices-dir slices-3
  domvia-e2ee room rotate -I alice.id --state room-42.state --if-due --bundle-out b4.bin
"""
DURATION: Final = re.compile(r"([1-9][0-9]*)([smhd]?)")
UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
FILE_NAME_SAFE: Final = re.compile(r"[A-Za-z0-9._@+=-]")
Change = Callable[[Room, Progress], Rotation]


def register(commands: Any) -> None:
    group = commands.add_parser("room", help="create a room and change its members (rotates keys)")
    sub = group.add_subparsers(dest="room_command", required=True, metavar="ACTION")
    create = _leaf(sub, "create", "create a room at epoch 1 with you as its admin")
    create.add_argument("--room", required=True, dest="room_id", help="the room id")
    create.add_argument("--member", metavar="PUBLIC", action="append", default=[],
                        help="a member's public identity file (repeatable)")
    create.add_argument("--suite", choices=[s.label for s in Suite], default=DEFAULT_SUITE.label,
                        help="message AEAD (default %(default)s)")
    create.add_argument("--post-quantum", action="store_true", help="wrap keys with X-Wing (ML-KEM-768 + X25519)")
    create.add_argument("--max-messages", type=int, default=RoomPolicy.max_messages, metavar="N",
                        help="rotation falls due after N messages (default %(default)s)")
    create.add_argument("--max-age", type=_duration, default=RoomPolicy.max_age_seconds, metavar="AGE",
                        help="rotation falls due after AGE: seconds, or with a suffix s, m, h or d (default 7d)")
    create.add_argument("--admin", metavar="ID", action="append", default=[],
                        help="another member who is an admin from epoch 1 (repeatable)")
    create.add_argument("--members-may-rotate", action="store_true",
                        help="let any member rotate (not only admins); see spec/threat-model.md for its race")
    _add_outputs(create)
    create.set_defaults(handler=room_create)
    admins = _leaf(sub, "admins", "set the room's admins (members only) and rotate")
    admins.add_argument("admin_ids", metavar="ID", nargs="+", help="the complete new admin set")
    _add_outputs(admins)
    admins.set_defaults(handler=room_admins)
    policy = _leaf(sub, "policy", "change the signed rotation policy, suite or wrapping and rotate")
    policy.add_argument("--max-messages", type=int, metavar="N", help="rotation falls due after N messages")
    policy.add_argument("--max-age", type=_duration, metavar="AGE", help="rotation falls due after AGE")
    policy.add_argument("--suite", choices=[s.label for s in Suite], help="message AEAD")
    policy.add_argument("--wrapping", choices=["classic", "post-quantum"], help="key wrapping KEM")
    policy.add_argument("--allow-downgrade", action="store_true",
                        help="needed to go from post-quantum to classic wrapping; members see the downgrade")
    _add_outputs(policy)
    policy.set_defaults(handler=room_policy)
    add = _leaf(sub, "add", "add members and rotate")
    add.add_argument("members", metavar="PUBLIC", nargs="+", help="public identity files of the joiners")
    add.add_argument("--share-history", metavar="EPOCH", type=int, action="append", default=[],
                     help="also wrap this past epoch's key to each joiner (repeatable; needs --history-dir)")
    add.add_argument("--history-dir", metavar="DIR", help="write one history bundle per joiner (DIR/ID.history)")
    _add_outputs(add)
    add.set_defaults(handler=room_add)
    remove = _leaf(sub, "remove", "remove members and rotate: they cannot read anything sealed afterwards")
    remove.add_argument("participants", metavar="ID", nargs="+", help="participant ids to remove")
    _add_outputs(remove)
    remove.set_defaults(handler=room_remove)
    rotate = _leaf(sub, "rotate", "rotate to a new epoch with the same members")
    rotate.add_argument("--if-due", action="store_true", help="rotate only if the rotation policy says it is due")
    _add_outputs(rotate)
    rotate.set_defaults(handler=room_rotate)
    show = _leaf(sub, "show", "show the epoch, members and whether a rotation is due")
    _add_outputs(show, verb="write the current epoch's")
    show.set_defaults(handler=room_show)


def _leaf(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary + ".",
                                                     epilog=ROOM_EPILOG,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", metavar="FILE", required=True, help="the room state file")
    add_identity_options(parser)
    return parser


def _add_outputs(parser: argparse.ArgumentParser, verb: str = "write the new") -> None:
    parser.add_argument("--bundle-out", metavar="FILE", help=f"{verb} signed bundle to FILE")
    parser.add_argument("--slices-dir", metavar="DIR", help=f"{verb} per-member slices to DIR (new or empty)")
    parser.add_argument("--announcement-out", metavar="FILE",
                        help=f"{verb} epoch's announcement (signed header, no keys) to FILE: for participants "
                             "who hold the chain but are not members, such as removed ones")


def _duration(text: str) -> int:
    match = DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (examples: 3600, 90m, 12h, 7d)")
    return int(match.group(1)) * UNITS[match.group(2)]


def _age(seconds: int) -> str:
    for suffix, unit in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % unit == 0:
            return f"{seconds // unit}{suffix}"
    return f"{seconds}s"


def member_file_name(participant_id: str, suffix: str) -> str:
    """Ids may hold '/' and ':'; those (and a leading '.') are %-escaped. '%' is not an id character."""
    name = "".join(c if FILE_NAME_SAFE.fullmatch(c) else f"%{ord(c):02X}" for c in participant_id)
    return ("%2E" + name[1:] if name.startswith(".") else name) + suffix


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
            room, rotation = Room.create(session.ring, args.room_id, members, suite=suite, kem=kem, policy=policy,
                                         admins=args.admin, progress=progress)
        _commit(args, session, room, rotation, before=None)
    _report(args, room, rotation, {"created": True})
    return 0


def _policy(args: argparse.Namespace) -> RoomPolicy:
    try:
        return RoomPolicy(args.max_messages, args.max_age, args.members_may_rotate)
    except DomviaError as error:
        raise UsageError(str(error)) from None


def room_admins(args: argparse.Namespace) -> int:
    return _change(args, lambda room, progress: room.set_admins(args.admin_ids, progress=progress),
                   {"admins": sorted(set(args.admin_ids))})


def room_policy(args: argparse.Namespace) -> int:
    def change(room: Room, progress: Progress) -> Rotation:
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
    return _change(args, change, {})


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
    return _change(args, lambda room, progress: room.add(joiners, share_history=args.share_history,
                                                         progress=progress),
                   {"added": [j.participant_id for j in joiners]})


def room_remove(args: argparse.Namespace) -> int:
    return _change(args, lambda room, progress: room.remove(args.participants, progress=progress),
                   {"removed": sorted(set(args.participants))})


def room_rotate(args: argparse.Namespace) -> int:
    return _change(args, lambda room, progress: room.rotate(progress=progress), {})


def _change(args: argparse.Namespace, change: Change, extra: dict[str, Any]) -> int:
    owner = load_identity(args)
    with locked(args.state), keyring_session(args, owner=owner) as session:
        state = _load_state(args, session.ring)
        if getattr(args, "if_due", False) and not state.room.rotation_due():
            return _not_due(args, state)
        before = state.snapshot()
        with ProgressBar("wrapping room keys") as progress, concerning(args.state):
            rotation = change(state.room, progress)
        _commit(args, session, state.room, rotation, before=before)
    _report(args, state.room, rotation, extra)
    return 0


def _load_state(args: argparse.Namespace, ring: KeyRing) -> RoomState:
    state = storage.load_room_state(args.state, ring)
    if state.recovered and not wants_json(args):
        note(f"{args.state}: an interrupted rotation was found and {state.recovered} to epoch {state.room.epoch}")
    return state


def _not_due(args: argparse.Namespace, state: RoomState) -> int:
    if wants_json(args):
        emit_ok({"room": state.room.room_id, "epoch": state.room.epoch, "rotated": False, "rotation_due": []})
    else:
        print(f"room {state.room.room_id}: epoch {state.room.epoch}, rotation not due; nothing changed")
    return 0


def _commit(args: argparse.Namespace, session: Session, room: Room, rotation: Rotation,
            before: dict[str, Any] | None) -> None:
    bundle = rotation.bundle.to_bytes()
    outputs = _stage_outputs(args, rotation)
    try:
        storage.commit_rotation(args.state, session.path, session.owner, room, bundle, before=before,
                                outputs=outputs)
    except storage.OutputError as error:
        error.hint = f"the room is at epoch {room.epoch}; write its bundle again with `room show --bundle-out FILE`"
        raise


def _stage_outputs(args: argparse.Namespace, rotation: Rotation) -> list[Staged | StagedDirectory]:
    staged: list[Staged | StagedDirectory] = []
    try:
        if args.bundle_out:
            staged.append(Staged(args.bundle_out, rotation.bundle.to_bytes(), mode=PUBLIC_MODE))
        if args.slices_dir:
            staged.append(StagedDirectory(args.slices_dir, _slices(rotation)))
        if args.announcement_out:
            staged.append(Staged(args.announcement_out, rotation.announcement().to_bytes(), mode=PUBLIC_MODE))
        if rotation.history:
            files = {member_file_name(p, ".history"): h.to_bytes() for p, h in rotation.history.items()}
            staged.append(StagedDirectory(args.history_dir, files))
    except BaseException:
        storage.discard_all(staged)
        raise
    return staged


def _slices(rotation: Rotation) -> dict[str, bytes]:
    bundle = rotation.bundle
    return {member_file_name(m.participant_id, ".slice"): bundle.slice_for(m.participant_id).to_bytes()
            for m in bundle.members}


def _read_members(paths: list[str]) -> list[PublicIdentity]:
    members = [read_public(path) for path in paths]
    seen: dict[str, str] = {}
    for path, member in zip(paths, members, strict=True):
        if member.participant_id in seen:
            raise UsageError(f"{path} and {seen[member.participant_id]} are both {member.participant_id!r}")
        seen[member.participant_id] = path
    return members


def _report(args: argparse.Namespace, room: Room, rotation: Rotation, extra: dict[str, Any]) -> None:
    bundle = rotation.bundle
    if wants_json(args):
        emit_ok({**summary(room), **extra, "rotated": True, "bundle_file": args.bundle_out,
                 "announcement_file": args.announcement_out,
                 "bundle_bytes": len(bundle.to_bytes()), "slices_dir": args.slices_dir,
                 "history_dir": getattr(args, "history_dir", None), "history": sorted(rotation.history)})
        return
    print(f"room {room.room_id}: epoch {room.epoch}, members {_members_line(room)}")
    _report_outputs(args, room, len(bundle.to_bytes()), len(bundle.members))
    if rotation.history:
        print(f"wrote history bundles for {', '.join(sorted(rotation.history))} to {args.history_dir}/")


def _report_outputs(args: argparse.Namespace, room: Room, size: int, members: int) -> None:
    if args.bundle_out:
        print(f"wrote the signed bundle of epoch {room.epoch} to {args.bundle_out} ({size} bytes)")
    if args.slices_dir:
        print(f"wrote {members} slices to {args.slices_dir}/")
    if args.announcement_out:
        print(f"wrote the announcement of epoch {room.epoch} to {args.announcement_out}")
    if not args.bundle_out and not args.slices_dir:
        note(f"the bundle of epoch {room.epoch} is kept in {args.state}; "
             f"write it with `room show --bundle-out FILE` or `--slices-dir DIR`")


def _members_line(room: Room, limit: int = 20) -> str:
    ids = sorted(room.members)
    shown = ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
    return f"{len(ids)} ({shown})"


def summary(room: Room) -> dict[str, Any]:
    record = room.keyring.record(room.room_id, room.epoch)
    return {"room": room.room_id, "epoch": room.epoch, "members": sorted(room.members),
            "suite": room.suite.label, "kem": room.kem.name,
            "admins": list(room.admins),
            "policy": {"max_messages": room.policy.max_messages, "max_age_seconds": room.policy.max_age_seconds,
                       "members_may_rotate": room.policy.members_may_rotate},
            "downgraded": bool(record.header.flags & 2),
            "messages": record.messages, "issued_at": record.header.issued_at,
            "rotation_due": list(room.rotation_due())}


def room_show(args: argparse.Namespace) -> int:
    with keyring_session(args) as session:
        state = storage.load_room_state(args.state, session.ring)
    room = state.room
    if (args.bundle_out or args.slices_dir or args.announcement_out) and not state.bundle:
        raise FileError(args.state, f"does not hold the bundle of epoch {room.epoch}: another admin made it",
                        hint="fetch that bundle from the product server")
    outputs = _stage_outputs(args, Rotation(Bundle.from_bytes(state.bundle))) if state.bundle else []
    storage.commit_all(outputs)
    if wants_json(args):
        emit_ok({**summary(room), "state": args.state, "recovered": state.recovered,
                 "bundle_file": args.bundle_out, "slices_dir": args.slices_dir,
                 "announcement_file": args.announcement_out})
        return 0
    info = summary(room)
    due = ", ".join(info["rotation_due"])
    rows = [("room", room.room_id), ("epoch", str(room.epoch)), ("members", _members_line(room, 50)),
            ("admins", ", ".join(room.admins)),
            ("suite", f"{room.suite.label}, keys wrapped with {room.kem.name}"),
            ("policy", f"rotate after {room.policy.max_messages} messages or {_age(room.policy.max_age_seconds)}"),
            ("messages", f"{info['messages']} in this epoch"), ("rotation due", f"yes ({due})" if due else "no"),
            ("state", f"{args.state}" + (f" (interrupted rotation {state.recovered})" if state.recovered else ""))]
    for name, value in rows:
        print(f"{name + ':':<14}{value}")
    if args.bundle_out or args.slices_dir or args.announcement_out:
        _report_outputs(args, room, len(state.bundle), len(room.members))
    return 0
