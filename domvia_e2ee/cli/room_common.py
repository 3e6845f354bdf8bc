"""What the `room` commands share: their options, the rotation commit and the report.

The room state file (no secrets) and the key ring (the keys) change together; see
storage.commit_rotation for the order that keeps them consistent across a crash.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Callable
from typing import Any, Final

from .. import storage
from ..group.keyring import KeyRing
from ..group.room import Room, Rotation
from ..storage import PUBLIC_MODE, RoomState, Staged, StagedDirectory
from ..wrap import Progress
from .io import ProgressBar, emit_ok, note, wants_json
from .session import Session, add_identity_options, concerning, keyring_session, load_identity, locked

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
MAX_FILE_NAME: Final = 255 - 32  # 255 bytes on common file systems, less room for the writer's temporary name
FILE_NAMES: Final = ("DIR/ID.slice, DIR/ID.proof: an id's '/', ':' and a leading '.' are written %%2F, %%3A, %%2E; "
                     "a name too long for the file system ends with '~' and a hash of the id")
Change = Callable[[Room, Progress], Rotation]


def leaf(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary + ".",
                                                     epilog=ROOM_EPILOG,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", metavar="FILE", required=True, help="the room state file")
    add_identity_options(parser)
    return parser


def add_outputs(parser: argparse.ArgumentParser, verb: str = "write the new") -> None:
    parser.add_argument("--bundle-out", metavar="FILE", help=f"{verb} signed bundle to FILE")
    parser.add_argument("--slices-dir", metavar="DIR",
                        help=f"{verb} per-member slices to DIR (new or empty; {FILE_NAMES})")
    parser.add_argument("--proofs-dir", metavar="DIR",
                        help=f"{verb} per-member member proofs to DIR (new or empty): what the server serves to "
                             "slice holders who meet a new sender")
    parser.add_argument("--announcement-out", metavar="FILE",
                        help=f"{verb} epoch's announcement (signed header, no keys) to FILE: for participants "
                             "who hold the chain but are not members, such as removed ones")


def duration(text: str) -> int:
    match = DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (examples: 3600, 90m, 12h, 7d)")
    return int(match.group(1)) * UNITS[match.group(2)]


def age(seconds: int) -> str:
    for suffix, unit in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % unit == 0:
            return f"{seconds // unit}{suffix}"
    return f"{seconds}s"


def member_file_name(participant_id: str, suffix: str) -> str:
    """Ids may hold '/' and ':'; those (and a leading '.') are %-escaped. '%' is not an id character.
    A name past MAX_FILE_NAME bytes (an escaped id can reach 384) keeps its first 64 characters and
    ends with '~' and 32 hex digits of the id's SHA-256 ('~' is not an id character either)."""
    name = "".join(c if FILE_NAME_SAFE.fullmatch(c) else f"%{ord(c):02X}" for c in participant_id)
    name = "%2E" + name[1:] if name.startswith(".") else name
    if len(name) + len(suffix) > MAX_FILE_NAME:
        cut = name.rfind("%", 62, 64)  # never cut inside a %XX escape
        name = name[: cut if cut != -1 else 64] + "~" + hashlib.sha256(participant_id.encode()).hexdigest()[:32]
    return name + suffix


def change(args: argparse.Namespace, change: Change, extra: dict[str, Any]) -> int:
    owner = load_identity(args)
    with locked(args.state), keyring_session(args, owner=owner) as session:
        state = load_state(args, session.ring)
        if getattr(args, "if_due", False) and not state.room.rotation_due():
            return not_due(args, state)
        before = state.snapshot()
        with ProgressBar("wrapping room keys") as progress, concerning(args.state):
            rotation = change(state.room, progress)
        commit(args, session, state.room, rotation, before=before)
    report(args, state.room, rotation, extra)
    return 0


def load_state(args: argparse.Namespace, ring: KeyRing) -> RoomState:
    state = storage.load_room_state(args.state, ring)
    if state.recovered and not wants_json(args):
        note(f"{args.state}: an interrupted rotation was found and {state.recovered} to epoch {state.room.epoch}")
    return state


def not_due(args: argparse.Namespace, state: RoomState) -> int:
    if wants_json(args):
        emit_ok({"room": state.room.room_id, "epoch": state.room.epoch, "rotated": False, "rotation_due": []})
    else:
        print(f"room {state.room.room_id}: epoch {state.room.epoch}, rotation not due; nothing changed")
    return 0


def commit(args: argparse.Namespace, session: Session, room: Room, rotation: Rotation,
            before: dict[str, Any] | None) -> None:
    bundle = rotation.bundle.to_bytes()
    outputs = stage_outputs(args, rotation)
    try:
        storage.commit_rotation(args.state, session.path, session.owner, room, bundle, before=before,
                                outputs=outputs)
    except storage.OutputError as error:
        error.hint = f"the room is at epoch {room.epoch}; write its bundle again with `room show --bundle-out FILE`"
        raise


def stage_outputs(args: argparse.Namespace, rotation: Rotation) -> list[Staged | StagedDirectory]:
    staged: list[Staged | StagedDirectory] = []
    try:
        if args.bundle_out:
            staged.append(Staged(args.bundle_out, rotation.bundle.to_bytes(), mode=PUBLIC_MODE))
        if args.slices_dir:
            staged.append(StagedDirectory(args.slices_dir, slices(rotation)))
        if args.proofs_dir:
            staged.append(StagedDirectory(args.proofs_dir, proofs(rotation)))
        if args.announcement_out:
            staged.append(Staged(args.announcement_out, rotation.announcement().to_bytes(), mode=PUBLIC_MODE))
        if rotation.history:
            files = {member_file_name(p, ".history"): h.to_bytes() for p, h in rotation.history.items()}
            staged.append(StagedDirectory(args.history_dir, files))
    except BaseException:
        storage.discard_all(staged)
        raise
    return staged


def proofs(rotation: Rotation) -> dict[str, bytes]:
    bundle = rotation.bundle  # a user's device's proof carries its user's device list (spec/users.md)
    return {member_file_name(m.participant_id, ".proof"): bundle.proof_file_for(m.participant_id).to_bytes()
            for m in bundle.members}


def slices(rotation: Rotation) -> dict[str, bytes]:
    bundle = rotation.bundle
    return {member_file_name(m.participant_id, ".slice"): bundle.slice_for(m.participant_id).to_bytes()
            for m in bundle.members}


def report(args: argparse.Namespace, room: Room, rotation: Rotation, extra: dict[str, Any]) -> None:
    bundle = rotation.bundle
    if wants_json(args):
        emit_ok({**summary(room), **extra, "rotated": True, "bundle_file": args.bundle_out,
                 "announcement_file": args.announcement_out,
                 "bundle_bytes": len(bundle.to_bytes()), "slices_dir": args.slices_dir, "proofs_dir": args.proofs_dir,
                 "history_dir": getattr(args, "history_dir", None), "history": sorted(rotation.history)})
        return
    print(f"room {room.room_id}: epoch {room.epoch}, members {members_line(room)}")
    report_outputs(args, room, len(bundle.to_bytes()), len(bundle.members))
    if rotation.history:
        print(f"wrote history bundles for {', '.join(sorted(rotation.history))} to {args.history_dir}/")


def report_outputs(args: argparse.Namespace, room: Room, size: int, members: int) -> None:
    if args.bundle_out:
        print(f"wrote the signed bundle of epoch {room.epoch} to {args.bundle_out} ({size} bytes)")
    if args.slices_dir:
        print(f"wrote {members} slice{'' if members == 1 else 's'} to {args.slices_dir}/")
    if args.proofs_dir:
        print(f"wrote {members} member proof{'' if members == 1 else 's'} to {args.proofs_dir}/")
    if args.announcement_out:
        print(f"wrote the announcement of epoch {room.epoch} to {args.announcement_out}")
    if not args.bundle_out and not args.slices_dir:
        note(f"the bundle of epoch {room.epoch} is kept in {args.state}; "
             f"write it with `room show --bundle-out FILE` or `--slices-dir DIR`")


def members_line(room: Room, limit: int = 20) -> str:
    ids = sorted(room.members)
    shown = ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
    return f"{len(ids)} ({shown})"


def summary(room: Room) -> dict[str, Any]:
    record = room.keyring.record(room.room_id, room.epoch)
    return {"room": room.room_id, "epoch": room.epoch, "members": sorted(room.members), "users": sorted(room.users),
            "suite": room.suite.label, "kem": room.kem.name,
            "admins": list(room.admins),
            "policy": {"max_messages": room.policy.max_messages, "max_age_seconds": room.policy.max_age_seconds,
                       "members_may_rotate": room.policy.members_may_rotate},
            "downgraded": bool(record.header.flags & 2),
            "messages": record.messages, "issued_at": record.header.issued_at,
            "rotation_due": list(room.rotation_due())}
