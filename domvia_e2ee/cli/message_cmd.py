"""`seal` and `open`: one message, from stdin or -i to stdout or -o, in JSON or binary form."""

from __future__ import annotations

import argparse
import contextlib
import sys
import uuid
from typing import Any, Final

from ..encoding import b64encode, check_content_type, check_id
from ..errors import DomviaError
from ..message import DEFAULT_CONTENT_TYPE, MAX_MESSAGE_JSON, MAX_PLAINTEXT, SealedMessage
from ..sealing import OpenedMessage
from ..storage import FileError
from ..unreadable import explain
from .io import (
    STDIO, UsageError, add_input_output, check_binary_destination, emit_ok, note, read_input, stage_output, wants_json,
    write_stdout,
)
from .keyring_cmd import add_known
from .session import add_identity_options, concerning, keyring_session

SEAL_EPILOG: Final = f"""\
Seals at most {MAX_PLAINTEXT} bytes under the room's latest epoch in your key ring, signed as
you (or, with --unsigned, in bot mode: any member could forge such a message). The key ring
counts every sealed message against the epoch's limits, so it is saved on every seal.

example:
  echo 'hi all' | domvia-e2ee seal -I bob.id --room room-42 > msg.json
"""
OPEN_EPILOG: Final = """\
Reads either form (JSON or binary). The sender must be known to your key ring (from room
commands, `keyring accept --known`, or --known here) and a member of the message's epoch. A
message opened twice is refused as a replay unless --no-replay-check. Nothing is written
when the message does not authenticate. On a terminal, control characters in the plaintext
(escape sequences, bidirectional overrides, bytes that are not UTF-8) are shown as escapes such
as \\x1b, so a message cannot drive the terminal; -o FILE or a pipe gets the exact bytes.

example:
  domvia-e2ee open -I carol.id msg.json
"""


def register(commands: Any) -> None:
    seal = commands.add_parser("seal", help="seal (encrypt and sign) a message for a room", epilog=SEAL_EPILOG,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    add_identity_options(seal)
    seal.add_argument("--room", required=True, dest="room_id", help="the room id")
    add_input_output(seal, what_in="the plaintext", what_out="the sealed message")
    seal.add_argument("--format", choices=("json", "binary"), default="json", help="wire form (default json)")
    seal.add_argument("--message-id", help="a unique message id (default: a random UUID)")
    seal.add_argument("--content-type", default=DEFAULT_CONTENT_TYPE, help="default %(default)s")
    seal.add_argument("--unsigned", action="store_true", help="bot mode: no signature")
    seal.add_argument("--no-padding", action="store_true", help="do not pad the plaintext (reveals its length)")
    seal.set_defaults(handler=seal_command)
    open_ = commands.add_parser("open", help="open (verify and decrypt) a sealed message", epilog=OPEN_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_identity_options(open_)
    add_input_output(open_, what_in="the sealed message", what_out="the plaintext (mode 0600)")
    open_.add_argument("file", metavar="FILE", nargs="?", help="the sealed message (the same as -i FILE)")
    open_.add_argument("--known", metavar="PUBLIC", action="append", default=[],
                       help="add a sender's public identity file to the key ring first (repeatable)")
    open_.add_argument("--allow-unsigned", action="store_true", help="accept bot-mode (unsigned) messages")
    open_.add_argument("--no-replay-check", action="store_true",
                       help="re-read a message already opened (stored history) without recording it")
    open_.set_defaults(handler=open_command)


def _input_name(path: str) -> str:
    return "stdin" if path == STDIO else path


def seal_command(args: argparse.Namespace) -> int:
    binary = args.format == "binary"
    check_binary_destination(args.output, binary)
    plaintext = read_input(args.input, limit=MAX_PLAINTEXT, what="plaintext")
    message_id = args.message_id or str(uuid.uuid4())
    try:
        check_id(message_id, "--message-id")
        check_content_type(args.content_type, "--content-type")
    except DomviaError as error:
        raise UsageError(str(error)) from None
    with keyring_session(args) as session:
        ring = session.ring
        seal = ring.seal_unsigned if args.unsigned else ring.seal
        with concerning(session.path, "cannot seal: "):
            sealed = seal(args.room_id, plaintext, message_id=message_id, content_type=args.content_type,
                          pad=not args.no_padding)
        wire = sealed.to_bytes() if binary else (sealed.to_json() + "\n").encode()
        output = stage_output(args.output, wire)
        session.commit([output] if output else [])
    if wants_json(args):
        emit_ok({**_metadata(sealed), "format": args.format, "bytes": len(wire),
                 "output": None if output is None else args.output,
                 "message": None if output is not None else (b64encode(wire) if binary else sealed.to_dict())})
    elif output is None:
        write_stdout(wire, binary=binary)
    return 0


def _metadata(message: SealedMessage | OpenedMessage) -> dict[str, Any]:
    return {"room": message.room_id, "epoch": message.epoch, "sender": message.sender_id,
            "message_id": message.message_id, "content_type": message.content_type, "signed": message.signed}


def open_command(args: argparse.Namespace) -> int:
    if args.file is not None:
        if args.input != STDIO:
            raise UsageError("give the sealed message as FILE or as -i FILE, not both")
        args.input = args.file
    name = _input_name(args.input)
    data = read_input(args.input, limit=MAX_MESSAGE_JSON, what="sealed message")
    if data.lstrip()[:1] == b"{":
        data = data.strip()
    elif not data:
        raise FileError(name, "empty: no sealed message")
    with keyring_session(args) as session:
        ring = session.ring
        add_known(ring, args.known)
        allowed, ring.allow_unsigned = ring.allow_unsigned, ring.allow_unsigned or args.allow_unsigned
        with concerning(name, "cannot open: "):
            opened = _open_explained(ring, data, not args.no_replay_check)
        ring.allow_unsigned = allowed
        output = stage_output(args.output, opened.plaintext, private=True)
        session.commit([output] if output else [])
    _report_opened(args, opened, output is not None)
    return 0


def _open_explained(ring: Any, data: bytes, check_replay: bool) -> OpenedMessage:
    """ring.open, with a refusal's cause from the unreadable taxonomy as its hint (and in --json)."""
    try:
        opened: OpenedMessage = ring.open(data, check_replay=check_replay)
    except DomviaError as error:
        cause = explain(error)
        error.hint = f"{cause.message} [{cause.cause}; client action: {cause.action}]"  # type: ignore[attr-defined]
        error.unreadable = cause  # type: ignore[attr-defined]
        raise
    return opened


def _report_opened(args: argparse.Namespace, opened: OpenedMessage, to_file: bool) -> None:
    if wants_json(args):
        text = None
        if not to_file:
            with contextlib.suppress(UnicodeDecodeError):
                text = opened.plaintext.decode("utf-8")
        emit_ok({**_metadata(opened), "output": args.output if to_file else None, "bytes": len(opened.plaintext),
                 "plaintext": None if to_file else b64encode(opened.plaintext), "text": text})
        return
    who = (f"signed by {opened.sender_id}" if opened.signed else
           f"UNSIGNED (bot mode): claims to be from {opened.sender_id}; any room member could have written it")
    note(f"{who} (room {opened.room_id}, epoch {opened.epoch}, message {opened.message_id}, {opened.content_type})")
    if not to_file:
        write_stdout(opened.plaintext)
        if sys.stdout.isatty() and not opened.plaintext.endswith(b"\n"):
            sys.stdout.write("\n")
