"""`backup create|up|share`: a user's key backup (spec/backup.md). The user key signs a backup info
(the X-Wing public key devices wrap to); each device seals what it accepted into numbered chunks
for the product server; a device can also hand what it holds to a sibling. Restoring is in
backup_restore_cmd.py."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any, Final

from ..errors import PolicyError
from ..storage import PUBLIC_MODE, FileError, Staged, StagedDirectory
from ..users.backup import back_up, share_with_sibling
from ..users.backup_chunk import MAX_SEQ, BackupChunk
from ..users.backup_info import KDF_RECOVERY_KEY, create_backup_info
from ..users.recovery import Argon2Cost
from . import backup_restore_cmd
from .backup_restore_cmd import BACKUP_OPTIONS, read_info
from .io import Passphrases, UsageError, add_secret_options, emit_ok, note, plural, refuse_existing, wants_json
from .room_common import member_file_name
from .session import add_identity_options, concerning, keyring_session, read_public
from .user_cmd import add_user_key_option, load_user_key

COSTS: Final = {"low": Argon2Cost(19 * 1024, 2, 1), "medium": Argon2Cost(), "high": Argon2Cost(256 * 1024, 4, 1)}
EPILOG: Final = """\
A backup opens with a recovery key (the default: shown once, here, and stored by no device) or,
with --passphrase-backup, a passphrase (Argon2id). Devices wrap their epochs to the info's public
key, after checking it is signed by their user's pinned key. `backup up` numbers chunks from
--first-seq (the server's count of this device's chunks, plus 1) and writes them to DIR/ (new or
empty) as ID.SEQ.chunk; only once they are written does the key ring count those epochs as backed
up. Upload them, then back up again later: only what changed is sealed.

examples:
  domvia-e2ee backup create --user-key alice.user -o alice.backup-info
  domvia-e2ee backup up -I alice-phone.id --info alice.backup-info --first-seq 1 -o up-1
  domvia-e2ee backup share -I alice-phone.id --to alice-tablet.pub --first-seq 2 -o share-1
"""


def register(commands: Any) -> None:
    group = commands.add_parser("backup", help="key backup: create it, back up, restore, share with a sibling")
    sub = group.add_subparsers(dest="backup_command", required=True, metavar="ACTION")
    create = _leaf(sub, "create", "create a backup info signed by the user key, and its recovery key")
    add_user_key_option(create)
    create.add_argument("-o", "--output", metavar="FILE", required=True, help="the backup info file to create")
    create.add_argument("--passphrase-backup", action="store_true",
                        help="open the backup with a passphrase instead of a recovery key")
    create.add_argument("--kdf-cost", choices=sorted(COSTS), help="Argon2id cost of a passphrase backup (default medium)")
    create.add_argument("--info-version", metavar="N", type=int, default=1,
                        help="the info's version: a new backup after a leak is version + 1 (default 1)")
    add_secret_options(create, BACKUP_OPTIONS, "backup passphrase")
    create.set_defaults(handler=backup_create)
    up = _leaf(sub, "up", "seal every epoch not backed up yet into chunks for the server")
    add_identity_options(up)
    up.add_argument("--info", metavar="FILE", required=True, help="your user's backup info file")
    _numbered_outputs(up)
    up.set_defaults(handler=backup_up)
    share = _leaf(sub, "share", "seal every epoch you hold for a sibling device (another device of your user)")
    add_identity_options(share)
    share.add_argument("--to", metavar="PUBLIC", required=True, help="the sibling's public identity file")
    _numbered_outputs(share)
    share.set_defaults(handler=backup_share)
    backup_restore_cmd.register(sub)


def _leaf(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary + ".", epilog=EPILOG,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def _numbered_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--first-seq", metavar="N", type=int, required=True,
                        help="the first chunk's number: how many chunks the server holds from this device, plus 1")
    parser.add_argument("-o", "--output", metavar="DIR", required=True, help="write the chunks to DIR (new or empty)")


def backup_create(args: argparse.Namespace) -> int:
    secret_given = args.backup_secret_fd is not None or args.backup_secret_env
    if not args.passphrase_backup and (secret_given or args.kdf_cost):
        raise UsageError("--backup-secret-fd, --backup-secret-env and --kdf-cost need --passphrase-backup")
    if not 1 <= args.info_version <= MAX_SEQ:
        raise UsageError("--info-version is from 1 to 2^32 - 1")
    refuse_existing(args.output)
    user = load_user_key(args).user
    passphrase = Passphrases(args, BACKUP_OPTIONS).new(args.output, "backup passphrase") if args.passphrase_backup else None
    cost = COSTS[args.kdf_cost or "medium"]
    info, secret = create_backup_info(user, version=args.info_version, passphrase=passphrase, cost=cost)
    Staged(args.output, info.to_bytes(), mode=PUBLIC_MODE, exclusive=True).commit()
    recovery_key = secret.recovery_key() if info.kdf == KDF_RECOVERY_KEY else None
    if wants_json(args):
        emit_ok({"file": args.output, "user": info.user_id, "version": info.version, "key_id": info.key_id.hex(),
                 "kind": "recovery-key" if recovery_key else "passphrase", "recovery_key": recovery_key,
                 "kdf": None if info.cost is None else dataclasses.asdict(info.cost)})
        return 0
    kind = "opens with the recovery key below" if recovery_key else "opens with its passphrase"
    note(f"created {args.output}: version {info.version} of {info.user_id}'s key backup; it {kind}")
    if recovery_key:
        note("warning: this recovery key is shown once and stored nowhere: write it down and keep it offline. "
             "With it, anyone who gets the backup chunks reads every backed-up room key.")
        sys.stdout.write(recovery_key + "\n")
    return 0


def _check_seq(first: int) -> None:
    if not 1 <= first <= MAX_SEQ:
        raise UsageError("--first-seq is from 1 to 2^32 - 1")


def _policy_hint(error: FileError) -> FileError:
    if error.code == PolicyError.code:
        error.hint = "pin your user (`keyring pin-user`) and hold its device list (`keyring add-devices`) first"
    return error


def _chunk_files(chunks: list[BackupChunk]) -> dict[str, bytes]:
    return {member_file_name(c.uploader.participant_id, f".{c.seq}.chunk"): c.to_bytes() for c in chunks}


def backup_up(args: argparse.Namespace) -> int:
    _check_seq(args.first_seq)
    info = read_info(args.info)
    with keyring_session(args) as session:
        try:
            with concerning(args.info, "refused: "):
                pending = back_up(session.ring, info, first_seq=args.first_seq)
        except FileError as error:
            raise _policy_hint(error) from None
        files = _chunk_files([p.chunk for p in pending])
        if pending:
            StagedDirectory(args.output, files).commit()  # durable before the key ring counts them
            for part in pending:
                session.ring.mark_backed_up(part.pending)
            session.commit()
    epochs = sum(len(p.pending) for p in pending)
    rooms = len({room for p in pending for room, _ in p.pending})
    return _report(args, files, [p.chunk for p in pending], {"epochs": epochs, "rooms": rooms},
                   f"backed up {plural(epochs, 'epoch')} of {plural(rooms, 'room')}", "nothing to back up")


def backup_share(args: argparse.Namespace) -> int:
    _check_seq(args.first_seq)
    sibling = read_public(args.to)
    with keyring_session(args) as session:
        try:
            with concerning(args.to, "refused: "):
                chunks = share_with_sibling(session.ring, sibling, seq=args.first_seq)
        except FileError as error:
            raise _policy_hint(error) from None
        files = _chunk_files(chunks)
        if chunks:
            StagedDirectory(args.output, files).commit()
        held = sum(len(session.ring.epochs(room)) for room in session.ring.rooms())
    return _report(args, files, chunks, {"to": sibling.participant_id, "epochs": held},
                   f"shared {plural(held, 'epoch')} with {sibling.participant_id}", "nothing to share")


def _report(args: argparse.Namespace, files: dict[str, bytes], chunks: list[BackupChunk], extra: dict[str, Any],
            done: str, nothing: str) -> int:
    rows = [{"file": f"{args.output}/{name}", "seq": c.seq, "bytes": len(c.to_bytes())}
            for name, c in zip(files, chunks, strict=True)]
    next_seq = args.first_seq + len(chunks)
    if wants_json(args):
        emit_ok({**extra, "dir": args.output if chunks else None, "chunks": rows, "next_seq": next_seq})
    elif not chunks:
        print(f"{nothing}: no chunk written")
    else:
        print(f"{done} in {plural(len(chunks), 'chunk')} (seq {chunks[0].seq}"
              f"{'' if len(chunks) == 1 else f' to {chunks[-1].seq}'}) to {args.output}/; "
              f"next --first-seq {next_seq}")
    return 0
