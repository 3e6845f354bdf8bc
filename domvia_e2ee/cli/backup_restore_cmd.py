"""`backup restore` and `backup accept-share`: epochs from the key backup (with the recovery key or
passphrase, no other device online) or from a sibling's share, each verified against the signed chain
before it reaches the key ring (spec/backup.md, "Restoring"). What is refused is reported, per chunk
and per room, with its code; the rest is restored."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Final

from .. import storage
from ..errors import AuthenticationError, DomviaError, FormatError, PolicyError
from ..storage import FileError
from ..users.backup import accept_sibling_share, restore
from ..users.backup_chunk import MAX_CHUNK_BYTES, BackupChunk
from ..users.backup_info import KDF_RECOVERY_KEY, MAX_INFO_BYTES, BackupInfo
from ..users.restore import RestoreReport
from ..users.user_key import device_user
from .io import Passphrases, add_secret_options, emit_ok, note, plural, wants_json
from .session import Session, add_identity_options, concerning, keyring_session

BACKUP_OPTIONS: Final = "backup-secret"
REASONS: Final = {
    "E_UNAUTHORIZED": "not written by a device on your user's device list, or written after its removal",
    "E_AUTH": "does not verify, or is not for this backup key or device",
    "E_FORMAT": "malformed", "E_BAD_KEY": "invalid keys",
    "E_FORK": "two different histories of the room", "E_STALE": "a backup of another branch of the room",
    "E_DOWNGRADE": "a downgrade the chain does not allow",
}
EPILOG: Final = """\
CHUNK is a chunk file or a directory of them (as `backup up` and `backup share` write). A chunk is
accepted only from a device on your user's newest device list you hold (or a removed one, up to its
last allowed chunk), and a room only if its epochs form a chain its admins signed that joins the one
you hold. Refused chunks and rooms are listed with their code; if nothing could be restored, the
command fails and the key ring is unchanged.

examples:
  domvia-e2ee backup restore -I alice-tablet.id --info alice.backup-info --backup-secret-fd 3 chunks/ 3<key.txt
  domvia-e2ee backup accept-share -I alice-tablet.id share-1
"""


class NothingRestoredError(DomviaError):
    """Every chunk or room was refused: the code of the first refusal."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.hint = "the refusals are listed above; a chunk list from the server may be incomplete or not yours"


def register(sub: Any) -> None:
    restore_ = _leaf(sub, "restore", "restore your user's key backup into your key ring")
    restore_.add_argument("--info", metavar="FILE", required=True, help="your user's backup info file")
    add_secret_options(restore_, BACKUP_OPTIONS, "recovery key or backup passphrase")
    restore_.set_defaults(handler=backup_restore)
    accept = _leaf(sub, "accept-share", "add what a sibling device shared with you")
    accept.set_defaults(handler=backup_accept_share)


def _leaf(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary + ".", epilog=EPILOG,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chunks", metavar="CHUNK", nargs="+", help="chunk files or directories of them")
    add_identity_options(parser)
    return parser


def read_info(path: str) -> BackupInfo:
    """A backup info file, parsed (its signature is checked against the pinned user key where it is used)."""
    data = storage.read_file(path, limit=MAX_INFO_BYTES)
    with concerning(path, "not a valid backup info: "):
        return BackupInfo.from_bytes(data)
    raise AssertionError("unreachable")  # pragma: no cover - concerning() re-raises


def read_chunks(paths: list[str], refused: list[dict[str, str]]) -> list[bytes]:
    """The chunk files named (a directory: its files, sorted); malformed ones are refused by file name."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    chunks = []
    for file in files:
        data = storage.read_file(file, limit=MAX_CHUNK_BYTES)
        try:
            BackupChunk.from_bytes(data)
        except DomviaError as error:
            refused.append({"chunk": str(file), "code": error.code})
            continue
        chunks.append(data)
    return chunks


def _require_user(session: Session) -> None:
    ring = session.ring
    user_id = device_user(ring.owner.participant_id)
    if user_id is None or ring.users.pinned(user_id) is None or ring.users.newest(user_id) is None:
        raise FileError(session.path, "holds no user key and device list of its own user: backups and shares are "
                        "for users' devices", code=PolicyError.code,
                        hint="pin your user (`keyring pin-user`) and hold its device list (`keyring add-devices`) first")


def backup_restore(args: argparse.Namespace) -> int:
    info = read_info(args.info)
    refused: list[dict[str, str]] = []
    chunks = read_chunks(args.chunks, refused)
    with keyring_session(args) as session:
        _require_user(session)
        pinned = session.ring.users.pinned(device_user(session.ring.owner.participant_id) or "")
        assert pinned is not None
        with concerning(args.info, "refused: "):
            info.verify(pinned)  # before the secret is asked for: a forged info is not worth typing it
        what = "recovery key" if info.kdf == KDF_RECOVERY_KEY else "backup passphrase"
        secret = Passphrases(args, BACKUP_OPTIONS).existing(args.info, what)()
        try:
            if info.kdf == KDF_RECOVERY_KEY:
                report = restore(session.ring, chunks, info, recovery_key=_text(secret))
            else:
                report = restore(session.ring, chunks, info, passphrase=secret)
        except AuthenticationError:
            raise FileError(args.info, f"this {what} does not open the backup", code=AuthenticationError.code,
                            hint=f"check the {what}: it is well formed, but not this backup's") from None
        _finish(args, session, report, refused)
    return 0


def _text(secret: bytes) -> str:
    try:
        return secret.decode("ascii")
    except UnicodeDecodeError:
        raise FormatError("recovery_key", "not a recovery key (base32)") from None


def backup_accept_share(args: argparse.Namespace) -> int:
    refused: list[dict[str, str]] = []
    chunks = read_chunks(args.chunks, refused)
    with keyring_session(args) as session:
        _require_user(session)
        _finish(args, session, accept_sibling_share(session.ring, chunks), refused)
    return 0


def _finish(args: argparse.Namespace, session: Session, report: RestoreReport, refused: list[dict[str, str]]) -> None:
    for item in report.refused_chunks:
        name, _, code = item.rpartition(": ")
        refused.append({"chunk": name, "code": code})
    rooms = [{"room": room, "code": code} for room, code in sorted(report.refused_rooms.items())]
    if not report.rooms and (refused or rooms):
        _warn(refused, rooms)
        first = (refused or rooms)[0]
        raise NothingRestoredError(first["code"], f"nothing restored: {plural(len(refused), 'chunk')} and "
                              f"{plural(len(rooms), 'room')} refused; the key ring is unchanged")
    session.commit()
    restored: list[dict[str, Any]] = [
        {"room": room, "epochs": [r.epoch for r in records], "keys": sum(r.key is not None for r in records)}
        for room, records in sorted(report.rooms.items())]
    if wants_json(args):
        emit_ok({"keyring": str(session.path), "rooms": restored, "keys": report.keys,
                 "refused_chunks": refused, "refused_rooms": rooms})
        return
    _warn(refused, rooms)
    for room in restored:
        epochs = room["epochs"]
        span = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs[0]} to {epochs[-1]}"
        print(f"restored room {room['room']}: {span}, {plural(room['keys'], 'key')}")
    print(f"restored {plural(len(restored), 'room')} ({plural(report.keys, 'key')}); refused "
          f"{plural(len(refused), 'chunk')} and {plural(len(rooms), 'room')}")


def _warn(refused: list[dict[str, str]], rooms: list[dict[str, str]]) -> None:
    for chunk in refused:
        note(f"refused chunk {chunk['chunk']}: {chunk['code']} ({REASONS.get(chunk['code'], 'refused')})")
    for room in rooms:
        note(f"refused room {room['room']}: {room['code']} ({REASONS.get(room['code'], 'refused')})")

