"""`keyring accept` and `keyring show`."""

from __future__ import annotations

import argparse
import time
from typing import Any, Final

from .. import storage
from ..encoding import check_id
from ..errors import DomviaError, ForkError, PolicyError
from ..group.bundle import MAX_BUNDLE_BYTES, Announcement, Bundle, Slice
from ..group.history import HistoryBundle
from ..group.keyring import KeyRing, parse_input
from ..group.members import MemberProofFile
from ..identity import PublicIdentity
from ..storage import FileError
from . import keyring_users_cmd
from .io import UsageError, emit_ok, note, plural, wants_json
from .session import Session, add_identity_options, concerning, keyring_session, read_public

ACCEPT_EPILOG: Final = """\
FILE is a bundle, a slice, an announcement, a history bundle or a member proof, in binary form.
Everything is checked before anything is stored: a rejected FILE leaves the key ring unchanged.
Epochs are accepted only on top of the chain you hold. To join a room, the first epoch must be
signed by an admin you trust for that room: pass their public identity with --admin and the room
with --room, after comparing its safety number out of band (`domvia-e2ee identity show FILE`).
After that, the room's signed admin set decides who may change it. Members' identities come
from the signed rosters; --known pins an identity you verified yourself.

example:
  domvia-e2ee keyring accept -I bob.id --room room-42 --admin alice.pub bundle-1.bin
"""
Parsed = Bundle | Slice | Announcement | HistoryBundle | MemberProofFile


def register(commands: Any) -> None:
    group = commands.add_parser("keyring", help="accept room keys into your key ring and list them")
    sub = group.add_subparsers(dest="keyring_command", required=True, metavar="ACTION")
    accept = sub.add_parser("accept", help="verify and store a bundle, slice or history bundle",
                            epilog=ACCEPT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    accept.add_argument("file", metavar="FILE", help="the bundle, slice or history bundle")
    add_identity_options(accept)
    accept.add_argument("--admin", metavar="PUBLIC", action="append", default=[],
                        help="trust this admin to let you join --room (repeatable; only for a room you do not hold)")
    accept.add_argument("--room", dest="room_id", metavar="ROOM", help="the room --admin is trusted for")
    accept.add_argument("--known", metavar="PUBLIC", action="append", default=[],
                        help="add this member's public identity file to the key ring (repeatable)")
    accept.add_argument("--replace-known", action="store_true",
                        help="let --known and --admin files replace a member's changed identity")
    accept.set_defaults(handler=keyring_accept)
    forks = sub.add_parser("forks", help="show fork evidence: two signed histories of one room")
    add_identity_options(forks)
    forks.add_argument("--room", dest="room_id", metavar="ROOM", help="only this room")
    forks.set_defaults(handler=keyring_forks)
    show = sub.add_parser("show", help="list rooms, epochs, admins and known identities (never keys)")
    add_identity_options(show)
    show.set_defaults(handler=keyring_show)
    keyring_users_cmd.register(sub)


def parse_bundle(path: str) -> Parsed:
    data = storage.read_file(path, limit=MAX_BUNDLE_BYTES)
    with concerning(path, "not a bundle: "):
        return parse_input(data)
    raise AssertionError("unreachable")  # pragma: no cover - concerning() re-raises


def room_of(parsed: Parsed) -> str:
    return parsed.room_id if isinstance(parsed, HistoryBundle | MemberProofFile) else parsed.header.room_id


def add_known(ring: KeyRing, paths: list[str], *, replace: bool = False) -> list[PublicIdentity]:
    identities = [read_public(path) for path in paths]
    for path, identity in zip(paths, identities, strict=True):
        known = ring.known_identity(identity.participant_id)
        if known is not None and known != identity and not replace:
            raise FileError(path, f"{identity.participant_id!r} is known with another identity (safety number "
                            f"{known.safety_number}, now {identity.safety_number})", code=PolicyError.code,
                            hint="if the change is genuine (checked out of band), pass it to "
                                 "`keyring accept --known FILE --replace-known`")
        ring.add_identity(identity, replace=replace)
    return identities


def keyring_accept(args: argparse.Namespace) -> int:
    parsed = parse_bundle(args.file)
    room_id = room_of(parsed)
    _check_admin_room(args, room_id)
    with keyring_session(args, create=True) as session:
        add_known(session.ring, args.known, replace=args.replace_known)
        admins = add_known(session.ring, args.admin, replace=args.replace_known)
        for admin in admins:
            if session.ring.latest_epoch(room_id) is not None:
                raise FileError(str(session.path), f"already holds room {room_id!r}: its admins come from the "
                                "signed chain, not from --admin", code=PolicyError.code,
                                hint="accept the file without --admin")
            session.ring.trust_admin(room_id, admin)
        with concerning(args.file, "rejected: "):
            try:
                accepted = session.ring.accept(parsed)
            except ForkError:
                _keep_fork_evidence(session, parsed)
                raise
        session.commit()
    if wants_json(args):
        emit_ok({"file": args.file, "keyring": str(session.path), "created": session.new, "room": accepted.room_id,
                 "epochs": list(accepted.epochs), "kind": accepted.kind,
                 "identity_changes": list(accepted.identity_changes),
                 "admins": [{"id": a.participant_id, "safety_number": a.safety_number} for a in admins]})
        return 0
    for admin in admins:
        note(f"trusting {admin.participant_id} to let you join {room_id}; safety number {admin.safety_number}")
    for changed in accepted.identity_changes:
        note(f"warning: the roster lists {changed} with another identity than the one you pinned")
    if session.new:
        note(f"created key ring {session.path}")
    epochs = ", ".join(map(str, accepted.epochs)) or "none new"
    print(f"accepted {accepted.kind} for room {accepted.room_id}: epoch {epochs}")
    return 0


def _keep_fork_evidence(session: Session, parsed: Parsed) -> None:
    """A fork changes nothing but the evidence, which is kept (spec/keyring.md, "Forks"): store the key ring
    as it was on disk plus that evidence, without this command's --known or --admin additions."""
    if session.new:
        return
    ring = storage.load_keyring(session.path, session.owner)
    try:
        ring.accept(parsed)
    except ForkError:
        Session(session.owner, session.path, ring, False).commit()


def keyring_show(args: argparse.Namespace) -> int:
    with keyring_session(args) as session:
        summary = describe(session)
    if wants_json(args):
        emit_ok(summary)
        return 0
    owner = summary["owner"]
    print(f"key ring: {summary['file']} ({'encrypted at rest' if summary['encrypted'] else 'not encrypted'})")
    print(f"owner:    {owner['id']} (safety number {owner['safety_number']})")
    for room in summary["rooms"]:
        print(f"room {room['room']}")
        print(f"  admins: {', '.join(a['id'] for a in room['admins'])}"
              f"{'' if room['members_may_rotate'] else ' (only admins rotate)'}")
        if room["forks"]:
            print(f"  FORK: {room['forks']} piece(s) of evidence: see `keyring forks`")
        for e in room["epochs"]:
            held = "key held" if e["key"] else "not a member"
            print(f"  epoch {e['epoch']}: key id {e['key_id'][:16]}…  {e['suite']}  from {e['source']}  "
                  f"{plural(e['members'], 'member')}  {held}  {plural(e['messages'], 'message')}  issued {e['issued']}")
    others = [i["id"] for i in summary["identities"] if i["id"] != owner["id"]]
    shown = ", ".join(others[:20]) + (f" and {len(others) - 20} more (--json lists all)" if len(others) > 20 else "")
    print(f"pinned identities: {shown or 'none'}")
    return 0


def describe(session: Session) -> dict[str, Any]:
    ring = session.ring
    owner = ring.owner.public
    return {
        "file": str(session.path), "encrypted": session.owner.encrypted,
        "owner": {"id": owner.participant_id, "fingerprint": owner.fingerprint.hex(),
                  "safety_number": owner.safety_number},
        "rooms": [{"room": room,
                   "admins": [{"id": a, "fingerprint": f.hex()} for a, f in ring.header(room).admins],
                   "members_may_rotate": ring.header(room).policy.members_may_rotate,
                   "forks": len(ring.forks(room)),
                   "epochs": [_epoch(ring, room, e) for e in ring.epochs(room)]} for room in ring.rooms()],
        "identities": [{"id": i.participant_id, "fingerprint": i.fingerprint.hex(), "safety_number": i.safety_number}
                       for i in sorted(ring.directory(), key=lambda i: i.participant_id)],
    }


def _epoch(ring: KeyRing, room: str, epoch: int) -> dict[str, Any]:
    record = ring.record(room, epoch)
    header = record.header
    return {"epoch": epoch, "key_id": header.key_id.hex(), "suite": header.suite.label, "key": record.key is not None,
            "kem": header.kem.name, "source": record.source, "downgrade": bool(header.flags & 2),
            "members": header.member_count, "roster_known": record.complete, "messages": record.messages,
            "issued_at": header.issued_at, "issued": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(header.issued_at))}


def _check_admin_room(args: argparse.Namespace, room_id: str) -> None:
    if args.admin and args.room_id is None:
        raise UsageError("--admin needs --room: an admin is trusted for one room only")
    if args.room_id is not None:
        try:
            check_id(args.room_id, "--room")
        except DomviaError as error:
            raise UsageError(str(error)) from None
        if args.room_id != room_id:
            raise FileError(args.file, f"is for room {room_id!r}, not {args.room_id!r}", code=PolicyError.code,
                            hint="an invitation to another room than the one you meant: refuse it")


def keyring_forks(args: argparse.Namespace) -> int:
    with keyring_session(args) as session:
        ring = session.ring
        rooms = [args.room_id] if args.room_id else ring.rooms()
        evidence = [e.to_dict() for room in rooms for e in ring.forks(room)]
    if wants_json(args):
        emit_ok({"forks": evidence})
        return 0
    if not evidence:
        print("no fork evidence")
    for e in evidence:
        print(f"room {e['room']} epoch {e['epoch']}: two signed histories ({e['kind']}); evidence held={e['held'][:24]}… "
              f"other={e['other'][:24]}…")
    return 0
