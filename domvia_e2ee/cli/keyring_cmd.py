"""`keyring accept` and `keyring show`."""

from __future__ import annotations

import argparse
import time
from typing import Any, Final

from .. import storage
from ..bundle import MAX_BUNDLE_BYTES, Bundle, Slice
from ..history import HistoryBundle
from ..errors import PolicyError
from ..identity import PublicIdentity
from ..keyring import KeyRing
from ..labels import MAGIC_BUNDLE, MAGIC_HISTORY, MAGIC_SLICE
from ..storage import FileError
from .io import emit_ok, note, wants_json
from .session import Session, add_identity_options, concerning, keyring_session, read_public

ACCEPT_EPILOG: Final = """\
FILE is a rotation bundle, a slice of one, or a history bundle, in binary form. Everything is
checked before anything is stored: a rejected FILE leaves the key ring unchanged. The first
bundle of a room must be signed by an admin you trust: pass their public identity with --admin
after comparing its safety number out of band (`domvia-e2ee identity show FILE`). Public
identities of members whose messages you will open can be added with --known.

example:
  domvia-e2ee keyring accept -I bob.id --admin alice.pub --known carol.pub bundle-1.bin
"""
Parsed = Bundle | Slice | HistoryBundle


def register(commands: Any) -> None:
    group = commands.add_parser("keyring", help="accept room keys into your key ring and list them")
    sub = group.add_subparsers(dest="keyring_command", required=True, metavar="ACTION")
    accept = sub.add_parser("accept", help="verify and store a bundle, slice or history bundle",
                            epilog=ACCEPT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    accept.add_argument("file", metavar="FILE", help="the bundle, slice or history bundle")
    add_identity_options(accept)
    accept.add_argument("--admin", metavar="PUBLIC", action="append", default=[],
                        help="trust this public identity file to rotate the bundle's room (repeatable)")
    accept.add_argument("--known", metavar="PUBLIC", action="append", default=[],
                        help="add this member's public identity file to the key ring (repeatable)")
    accept.add_argument("--replace-known", action="store_true",
                        help="let --known and --admin files replace a member's changed identity")
    accept.add_argument("--admin-rotation", action="store_true",
                        help="from now on accept rotations of this room from its admins only (spec/keyring.md)")
    accept.set_defaults(handler=keyring_accept)
    show = sub.add_parser("show", help="list rooms, epochs, admins and known identities (never keys)")
    add_identity_options(show)
    show.set_defaults(handler=keyring_show)


def parse_bundle(path: str) -> Parsed:
    data = storage.read_file(path, limit=MAX_BUNDLE_BYTES)
    with concerning(path, "not a bundle: "):
        magic = data[:4]
        if magic == MAGIC_BUNDLE:
            return Bundle.from_bytes(data)
        if magic == MAGIC_SLICE:
            return Slice.from_bytes(data)
        if magic == MAGIC_HISTORY:
            return HistoryBundle.from_bytes(data)
    raise FileError(path, "not a bundle, slice or history bundle (unknown magic)",
                    hint="bundles are binary files written by `room create/add/remove/rotate`")


def room_of(parsed: Parsed) -> str:
    return parsed.room_id if isinstance(parsed, HistoryBundle) else parsed.header.room_id


def add_known(ring: KeyRing, paths: list[str], *, replace: bool = False) -> list[PublicIdentity]:
    identities = [read_public(path) for path in paths]
    for path, identity in zip(paths, identities, strict=True):
        known = ring.identity(identity.participant_id)
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
    with keyring_session(args, create=True) as session:
        add_known(session.ring, args.known, replace=args.replace_known)
        admins = add_known(session.ring, args.admin, replace=args.replace_known)
        for admin in admins:
            session.ring.trust_admin(room_id, admin)
        if args.admin_rotation:
            session.ring.require_admin_rotation(room_id)
        with concerning(args.file, "rejected: "):
            accepted = session.ring.accept(parsed)
        session.commit()
    if wants_json(args):
        emit_ok({"file": args.file, "keyring": str(session.path), "created": session.new, "room": accepted.room_id,
                 "epochs": list(accepted.epochs), "kind": accepted.kind,
                 "admins": [{"id": a.participant_id, "safety_number": a.safety_number} for a in admins]})
        return 0
    for admin in admins:
        note(f"trusting {admin.participant_id} to rotate {room_id}; safety number {admin.safety_number}")
    if session.new:
        note(f"created key ring {session.path}")
    epochs = ", ".join(map(str, accepted.epochs)) or "none new"
    print(f"accepted {accepted.kind} for room {accepted.room_id}: epoch {epochs}")
    return 0


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
        print(f"  admins: {', '.join(a['id'] or a['fingerprint'][:16] for a in room['admins']) or 'none'}"
              f"{' (only admins rotate)' if room['admin_rotation'] else ''}")
        for e in room["epochs"]:
            print(f"  epoch {e['epoch']}: key id {e['key_id'][:16]}…  {e['suite']}  from {e['source']}  "
                  f"{e['members']} members  {e['messages']} messages  issued {e['issued']}")
    others = [i["id"] for i in summary["identities"] if i["id"] != owner["id"]]
    print(f"known identities: {', '.join(others) or 'none'}")
    return 0


def describe(session: Session) -> dict[str, Any]:
    ring = session.ring
    by_fingerprint = {i.fingerprint: i.participant_id for i in ring.directory()}
    owner = ring.owner.public
    return {
        "file": str(session.path), "encrypted": session.owner.encrypted,
        "owner": {"id": owner.participant_id, "fingerprint": owner.fingerprint.hex(),
                  "safety_number": owner.safety_number},
        "rooms": [{"room": room,
                   "admins": [{"id": by_fingerprint.get(f), "fingerprint": f.hex()} for f in sorted(ring.admins(room))],
                   "admin_rotation": room in ring.admin_rotation_rooms(),
                   "epochs": [_epoch(ring, room, e) for e in ring.epochs(room)]} for room in ring.rooms()],
        "identities": [{"id": i.participant_id, "fingerprint": i.fingerprint.hex(), "safety_number": i.safety_number}
                       for i in sorted(ring.directory(), key=lambda i: i.participant_id)],
    }


def _epoch(ring: KeyRing, room: str, epoch: int) -> dict[str, Any]:
    record = ring.record(room, epoch)
    return {"epoch": epoch, "key_id": record.key.key_id.hex(), "suite": record.key.suite.label,
            "kem": record.kem.name, "source": record.source,
            "members": record.size, "roster_known": record.roster is not None, "messages": record.messages,
            "issued_at": record.issued_at, "issued": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.issued_at))}
