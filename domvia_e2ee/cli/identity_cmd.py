"""`identity new` and `identity show`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import storage
from ..encoding import check_id, loads_object
from ..errors import DomviaError, FormatError
from ..identity import Identity, PublicIdentity
from ..storage import COST_LEVELS, DEFAULT_COST, MAX_IDENTITY_BYTES, FileError
from .io import (
    Passphrases, UsageError, add_passphrase_options, emit_ok, note, refuse_existing, wants_json, write_new_pair,
)
from .session import concerning

NEW_EPILOG = f"""\
The identity file is created with mode 0600 and never overwrites an existing file. The public
identity (JSON with JWKs) goes to stdout and, with --public-out, to a file to give to others.
--encrypt protects the file with a passphrase (Argon2id, AES-256-GCM); its key ring is then
encrypted at rest too. KDF cost levels: {", ".join(f"{name} = {c.memory_kib // 1024} MiB x {c.iterations} passes x {c.lanes} lanes" for name, c in COST_LEVELS.items())}.

example:
  domvia-e2ee identity new --id alice -o alice.id --public-out alice.pub --encrypt --passphrase-env ALICE_PASS
"""


def register(commands: Any) -> None:
    group = commands.add_parser("identity", help="create and show identities")
    sub = group.add_subparsers(dest="identity_command", required=True, metavar="ACTION")
    new = sub.add_parser("new", help="create a private identity file", epilog=NEW_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    new.add_argument("--id", required=True, dest="participant_id", help="your participant id in rooms")
    new.add_argument("-o", "--output", metavar="FILE", required=True, help="the private identity file to create")
    new.add_argument("--public-out", metavar="FILE", help="also write the public identity to FILE")
    new.add_argument("--post-quantum", action="store_true", help="add an X-Wing (ML-KEM-768 + X25519) key")
    new.add_argument("--encrypt", action="store_true", help="encrypt the file under a passphrase")
    new.add_argument("--kdf-cost", choices=sorted(COST_LEVELS), help=f"Argon2id cost level (default {DEFAULT_COST})")
    add_passphrase_options(new)
    new.set_defaults(handler=identity_new)
    show = sub.add_parser("show", help="show a public identity, its fingerprint and safety number",
                          description="FILE is a private identity file or a public identity file.")
    show.add_argument("file", metavar="FILE")
    add_passphrase_options(show)
    show.set_defaults(handler=identity_show)


def identity_new(args: argparse.Namespace) -> int:
    _check_new_arguments(args)
    participant_id = _participant_id(args.participant_id)
    passphrase = Passphrases(args).new(args.output) if args.encrypt else None
    identity = Identity.generate(participant_id, post_quantum=args.post_quantum)
    cost = COST_LEVELS[args.kdf_cost or DEFAULT_COST]
    data = storage.dump_identity(identity, passphrase=passphrase, cost=cost)
    write_new_pair(args.output, data, args.public_out, (identity.public.to_json() + "\n").encode())
    encrypted = f"encrypted, Argon2id {args.kdf_cost or DEFAULT_COST}" if args.encrypt else "not encrypted"
    if wants_json(args):
        emit_ok({**_describe(identity.public), "file": args.output, "public_file": args.public_out,
                 "encrypted": args.encrypt, "kdf": cost.to_dict() if args.encrypt else None})
    else:
        sys.stdout.write(identity.public.to_json() + "\n")
        note(f"created {args.output} (mode 0600, {encrypted}); safety number {identity.public.safety_number}")
    return 0


def _check_new_arguments(args: argparse.Namespace) -> None:
    if not args.encrypt and (args.passphrase_fd is not None or args.passphrase_env or args.kdf_cost):
        raise UsageError("--passphrase-fd, --passphrase-env and --kdf-cost need --encrypt")
    refuse_existing(args.output, args.public_out)
    if args.public_out is not None and Path(args.public_out) == Path(args.output):
        raise UsageError("--public-out must differ from -o")


def _participant_id(value: str) -> str:
    try:
        return check_id(value, "--id")
    except DomviaError as error:
        raise UsageError(str(error)) from None


def identity_show(args: argparse.Namespace) -> int:
    public, kind = _load_any(args)
    if wants_json(args):
        emit_ok({**_describe(public), "file": args.file, "kind": kind})
        return 0
    rows = [("id", public.participant_id), ("fingerprint", public.fingerprint.hex()),
            ("safety number", public.safety_number), ("post-quantum", "yes (X-Wing)" if public.xwing else "no"),
            ("file", f"{args.file} ({kind})")]
    for name, value in rows:
        print(f"{name + ':':<15}{value}")
    print("public identity:")
    print(public.to_json())
    return 0


def _load_any(args: argparse.Namespace) -> tuple[PublicIdentity, str]:
    data = storage.read_file(args.file, limit=MAX_IDENTITY_BYTES)
    try:
        obj = loads_object(data, "identity", max_bytes=MAX_IDENTITY_BYTES)
    except FormatError:
        raise FileError(args.file, "not valid JSON: truncated or corrupt" if data.strip() else "is empty") from None
    if "file" not in obj:
        with concerning(args.file, "not a valid public identity: "):
            return PublicIdentity.from_dict(obj), "public identity"
    stored = storage.load_identity(args.file, Passphrases(args).existing(args.file))
    return stored.identity.public, "private, passphrase-encrypted" if stored.encrypted else "private"


def _describe(public: PublicIdentity) -> dict[str, Any]:
    return {"id": public.participant_id, "fingerprint": public.fingerprint.hex(),
            "safety_number": public.safety_number, "post_quantum": public.xwing is not None,
            "public": public.to_dict()}
