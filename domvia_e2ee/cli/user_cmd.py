"""`user create` and `user show`: a user's long-term key, which signs the user's device list
(spec/users.md). Others verify a user once, by the safety number of this key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from .. import storage
from ..encoding import loads_object
from ..errors import DomviaError, FormatError
from ..storage import COST_LEVELS, DEFAULT_COST, MAX_USER_KEY_BYTES, FileError, StoredUserKey
from ..users.user_key import UserKey, UserPublicKey, check_user_id
from .io import (
    Passphrases, UsageError, add_passphrase_options, emit_ok, note, refuse_existing, wants_json, write_new_pair,
)
from .session import concerning

MAX_USER_PUBLIC: Final = 1024
CREATE_EPILOG: Final = f"""\
The user key signs the user's device list: whoever holds it can add a device for the user, so keep
it off day-to-day devices where possible. Its file is created with mode 0600, never over an existing
file, and encrypted under a passphrase (Argon2id, AES-256-GCM) unless --no-passphrase. The public
key (a .user.pub file, JSON) goes to stdout and to --public-out (default: FILE.pub), for the people
who will compare its safety number. KDF cost levels: {", ".join(f"{name} = {c.memory_kib // 1024} MiB x {c.iterations} passes x {c.lanes} lanes" for name, c in COST_LEVELS.items())}.

example:
  domvia-e2ee user create --user alice -o alice.user --passphrase-env ALICE_USER_PASS
"""


def register(commands: Any) -> None:
    group = commands.add_parser("user", help="create and show user keys (a user signs its device list)")
    sub = group.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create a user key file and its public key", epilog=CREATE_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    create.add_argument("--user", required=True, dest="user_id", help="the user id (no '/', at most 96 characters)")
    create.add_argument("-o", "--output", metavar="FILE", required=True, help="the private user key file to create")
    create.add_argument("--public-out", metavar="FILE", help="the public user key file (default: FILE.pub)")
    create.add_argument("--no-passphrase", action="store_true", help="store the user key unencrypted")
    create.add_argument("--kdf-cost", choices=sorted(COST_LEVELS), help=f"Argon2id cost level (default {DEFAULT_COST})")
    add_passphrase_options(create)
    create.set_defaults(handler=user_create)
    show = sub.add_parser("show", help="show a user's id, fingerprint and safety number",
                          description="FILE is a public user key file (.user.pub) or a private user key file.")
    show.add_argument("file", metavar="FILE")
    add_passphrase_options(show)
    show.set_defaults(handler=user_show)


def add_user_key_option(parser: argparse.ArgumentParser) -> None:
    """--user-key FILE, with --passphrase-fd and --passphrase-env for an encrypted one."""
    parser.add_argument("--user-key", metavar="FILE", required=True, help="your private user key file")
    add_passphrase_options(parser)


def load_user_key(args: argparse.Namespace) -> StoredUserKey:
    """The --user-key file, asking for its passphrase only if it is encrypted."""
    return storage.load_user_key(args.user_key, Passphrases(args).existing(args.user_key))


def read_user_public(path: str | Path) -> UserPublicKey:
    """A .user.pub file. Raises FileError naming it."""
    data = storage.read_file(path, limit=MAX_USER_PUBLIC)
    with concerning(path, "not a public user key file: "):
        return UserPublicKey.from_json(data)
    raise AssertionError("unreachable")  # pragma: no cover - concerning() re-raises


def describe(public: UserPublicKey) -> dict[str, Any]:
    """The --json view of a user key: never the private half."""
    return {"user": public.user_id, "fingerprint": public.fingerprint.hex(), "safety_number": public.safety_number,
            "public": public.to_dict()}


def user_create(args: argparse.Namespace) -> int:
    if args.no_passphrase and (args.passphrase_fd is not None or args.passphrase_env or args.kdf_cost):
        raise UsageError("--passphrase-fd, --passphrase-env and --kdf-cost protect the file: not with --no-passphrase")
    public_out = args.public_out or args.output + ".pub"
    if Path(public_out) == Path(args.output):
        raise UsageError("--public-out must differ from -o")
    try:
        user_id = check_user_id(args.user_id, "--user")
    except DomviaError as error:
        raise UsageError(str(error)) from None
    refuse_existing(args.output, public_out)
    passphrase = None if args.no_passphrase else Passphrases(args).new(args.output)
    user = UserKey.generate(user_id)
    cost = COST_LEVELS[args.kdf_cost or DEFAULT_COST]
    data = storage.dump_user_key(user, passphrase=passphrase, cost=cost)
    write_new_pair(args.output, data, public_out, (user.public.to_json() + "\n").encode())
    if wants_json(args):
        emit_ok({**describe(user.public), "file": args.output, "public_file": public_out,
                 "encrypted": passphrase is not None, "kdf": None if passphrase is None else cost.to_dict()})
        return 0
    sys.stdout.write(user.public.to_json() + "\n")
    how = "not encrypted" if passphrase is None else f"encrypted, Argon2id {args.kdf_cost or DEFAULT_COST}"
    note(f"created {args.output} (mode 0600, {how}) and {public_out}; "
         f"user safety number {user.public.safety_number}")
    return 0


def user_show(args: argparse.Namespace) -> int:
    public, kind = _load_any(args)
    if wants_json(args):
        emit_ok({**describe(public), "file": args.file, "kind": kind})
        return 0
    for name, value in (("user", public.user_id), ("fingerprint", public.fingerprint.hex()),
                        ("safety number", public.safety_number), ("file", f"{args.file} ({kind})")):
        print(f"{name + ':':<15}{value}")
    print("public user key:")
    print(public.to_json())
    return 0


def _load_any(args: argparse.Namespace) -> tuple[UserPublicKey, str]:
    data = storage.read_file(args.file, limit=MAX_USER_KEY_BYTES)
    try:
        obj = loads_object(data, "user key", max_bytes=MAX_USER_KEY_BYTES)
    except FormatError:
        raise FileError(args.file, "not valid JSON: truncated or corrupt" if data.strip() else "is empty") from None
    if "file" not in obj:
        with concerning(args.file, "not a valid public user key: "):
            return UserPublicKey.from_dict(obj), "public user key"
    stored = storage.load_user_key(args.file, Passphrases(args).existing(args.file))
    return stored.user.public, "private, passphrase-encrypted" if stored.encrypted else "private"
