"""`attachment seal` and `attachment open`: stream a file or a pipe through the attachment format."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import mimetypes
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from ..attachment import DEFAULT_CHUNK_SIZE, DEFAULT_CONTENT_TYPE, Progress, open_file, seal_file
from ..attachment_reference import MAX_REFERENCE_JSON, AttachmentReference, parse_reference
from ..attachment_stream import check_chunk_size
from ..encoding import check_content_type
from ..errors import AuthenticationError, DomviaError
from ..hazmat.suites import DEFAULT_SUITE, Suite
from ..labels import CONTENT_TYPE_ATTACHMENT
from ..storage import atomic
from ..storage import PRIVATE_MODE, PUBLIC_MODE, FileError, Staged, fsync_directory, read_file
from .io import (
    STDIO, ProgressBar, UsageError, add_input_output, check_binary_destination, emit_ok, note, plural, wants_json,
)

SEAL_EPILOG: Final = f"""\
Encrypts FILE (or stdin) in {DEFAULT_CHUNK_SIZE}-byte chunks under a fresh random file key and writes
the encrypted blob, to upload to the product's storage. The reference file (mode 0600, never
overwritten) holds the file key, size, content type and SHA-256 of the blob: it is secret. Send it
to the room as a sealed message, then delete it:

example:
  domvia-e2ee attachment seal -i cat.jpg -o cat.dva --reference cat.ref
  domvia-e2ee seal -I alice.id --room room-42 --content-type {CONTENT_TYPE_ATTACHMENT} -i cat.ref
"""
OPEN_EPILOG: Final = """\
Decrypts a blob with the reference from a chat message (the plaintext of `domvia-e2ee open`).
Every chunk is authenticated; the output file (mode 0600) appears only once the whole blob has
been verified (length, last chunk, SHA-256), so a failure leaves no partial file. Written to a
pipe, verified chunks stream out and a failure exits with status 1: check it.

example:
  domvia-e2ee open -I bob.id -i msg.json -o cat.ref
  domvia-e2ee attachment open -i cat.dva -o cat.jpg --reference cat.ref
"""
AUTH_HINT: Final = "the blob was modified or truncated, or it is not the attachment this reference describes"


def register(commands: Any) -> None:
    group = commands.add_parser("attachment", help="encrypt and decrypt attachments (photos, videos, files)")
    sub = group.add_subparsers(dest="attachment_command", required=True, metavar="ACTION")
    seal = sub.add_parser("seal", help="encrypt a file into a blob and a reference", epilog=SEAL_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_output(seal, what_in="the attachment", what_out="the encrypted blob")
    seal.add_argument("--reference", metavar="REF", required=True, help="the reference file to create (secret)")
    seal.add_argument("--content-type", help="the media type (default: guessed from -i, else "
                                             f"{DEFAULT_CONTENT_TYPE})")
    seal.add_argument("--suite", choices=[s.label for s in Suite], default=DEFAULT_SUITE.label,
                      help="default %(default)s")
    seal.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                      help="bytes per chunk, a power of two from 4096 to 1048576 (default %(default)s)")
    seal.set_defaults(handler=seal_command)
    open_ = sub.add_parser("open", help="decrypt a blob with its reference", epilog=OPEN_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_output(open_, what_in="the encrypted blob", what_out="the attachment (mode 0600)")
    open_.add_argument("--reference", metavar="REF", required=True, help="the reference file")
    open_.set_defaults(handler=open_command)


# -- seal --------------------------------------------------------------------------------------


def seal_command(args: argparse.Namespace) -> int:
    content_type, chunk_size = _seal_options(args)
    _check_destinations(args)
    if Path(args.reference).exists():
        raise FileError(args.reference, "already exists; refusing to overwrite it", code="E_IO",
                        hint="choose another file name for --reference")
    with _input(args.input) as source, _output(args.output, PUBLIC_MODE) as sink:
        with _progress("sealing", _known_size(source)) as progress:
            reference = seal_file(source, sink.stream, content_type=content_type, suite=Suite.from_label(args.suite),
                                  chunk_size=chunk_size, progress=progress)
        staged = Staged(args.reference, reference.to_json() + b"\n", mode=PRIVATE_MODE, exclusive=True)
        try:
            with atomic.signals_deferred():  # Ctrl-C waits: both files appear, or neither
                staged.commit()
                _commit_or_undo(sink, args.reference)
        except BaseException:
            staged.discard()
            raise
    _report_sealed(args, reference)
    return 0


def _seal_options(args: argparse.Namespace) -> tuple[str, int]:
    guessed = mimetypes.guess_type(args.input)[0] if args.input != STDIO else None
    content_type = args.content_type or guessed or DEFAULT_CONTENT_TYPE
    try:
        check_content_type(content_type, "--content-type")
        check_chunk_size(args.chunk_size, "--chunk-size")
    except DomviaError as error:
        raise UsageError(str(error)) from None
    if args.chunk_size < 4096:
        raise UsageError("--chunk-size: below 4096 bytes is for test vectors only")
    return content_type, args.chunk_size


def _commit_or_undo(sink: _Output, reference_path: str) -> None:
    try:
        sink.commit()
    except BaseException:
        Path(reference_path).unlink(missing_ok=True)
        raise


def _report_sealed(args: argparse.Namespace, reference: AttachmentReference) -> None:
    facts = {"size": reference.size, "encrypted_size": reference.encrypted_size, "suite": reference.suite.label,
             "chunk_size": reference.chunk_size, "content_type": reference.content_type,
             "root": reference.root.hex()}
    if wants_json(args):
        emit_ok({"output": _name(args.output), "reference": args.reference, **facts})
        return
    note(f"sealed {plural(reference.size, 'byte')} ({reference.content_type}) into {_name(args.output)}, "
         f"{plural(reference.encrypted_size, 'byte')}, root {reference.root.hex()}")
    note(f"reference (secret, holds the file key) in {args.reference}: send it with "
         f"`domvia-e2ee seal --content-type {CONTENT_TYPE_ATTACHMENT} -i {args.reference}`")


# -- open --------------------------------------------------------------------------------------


def open_command(args: argparse.Namespace) -> int:
    _check_destinations(args)
    reference = _load_reference(args.reference)
    with _input(args.input) as source, _output(args.output, PRIVATE_MODE) as sink:
        with _progress("opening", reference.size) as progress:
            try:
                open_file(reference, source, sink.stream, progress=progress)
            except AuthenticationError:
                raise FileError(_name(args.input, "stdin"), "does not match the reference", code="E_AUTH",
                                hint=AUTH_HINT) from None
        sink.commit()
    if wants_json(args):
        emit_ok({"output": _name(args.output), "size": reference.size, "content_type": reference.content_type,
                 "root": reference.root.hex()})
    else:
        note(f"opened {plural(reference.size, 'byte')} ({reference.content_type}) into {_name(args.output)}: "
             "verified")
    return 0


def _load_reference(path: str) -> AttachmentReference:
    data = read_file(path, limit=MAX_REFERENCE_JSON + 2)
    try:
        return parse_reference(data.removesuffix(b"\n"))
    except DomviaError as error:
        raise FileError(path, f"not an attachment reference: {error}", code=error.code) from None


# -- files, pipes and progress -----------------------------------------------------------------


def _check_destinations(args: argparse.Namespace) -> None:
    check_binary_destination(args.output, True)
    if wants_json(args) and args.output == STDIO:
        raise UsageError("--json prints to stdout, so it needs -o FILE for the output")


def _name(path: str, stdio: str = "stdout") -> str:
    return stdio if path == STDIO else path


@contextlib.contextmanager
def _input(path: str) -> Iterator[IO[bytes]]:
    if path == STDIO:
        yield sys.stdin.buffer
        return
    with open(path, "rb") as source:
        yield source


def _known_size(source: IO[bytes]) -> int | None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        info = os.fstat(source.fileno())
        if stat.S_ISREG(info.st_mode):
            return info.st_size
    return None


class _Output:
    """stdout, or a temp file beside the target renamed over it by commit(); removed on any failure."""

    def __init__(self, path: str, mode: int) -> None:
        self.path = None if path == STDIO else Path(path)
        self.temp: Path | None = None
        if self.path is None:
            self.stream: IO[bytes] = sys.stdout.buffer
            return
        atomic.sweep_stale(self.path)  # temps a killed run left (spec/files.md)
        self.temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self.stream = os.fdopen(os.open(self.temp, flags, mode), "wb")
            with contextlib.suppress(OSError):  # best effort, as in storage.atomic
                fcntl.flock(self.stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # alive: not a stale temp
        except OSError as error:
            self.discard()
            raise FileError(path, error.strerror or str(error), code="E_IO") from None

    def commit(self) -> None:
        self.stream.flush()
        if self.path is None or self.temp is None:
            return
        os.fsync(self.stream.fileno())
        with atomic.signals_deferred():  # renamed and recorded, or neither
            os.replace(self.temp, self.path)
            self.temp = None
            atomic.record_commit(self.path)
        self.stream.close()
        fsync_directory(self.path.parent)

    def discard(self) -> None:
        if self.temp is not None:
            with contextlib.suppress(OSError):
                self.temp.unlink(missing_ok=True)
            with contextlib.suppress(OSError, AttributeError):
                self.stream.close()
            self.temp = None


@contextlib.contextmanager
def _output(path: str, mode: int) -> Iterator[_Output]:
    sink = _Output(path, mode)
    try:
        yield sink
    finally:
        sink.discard()  # a no-op once committed


@contextlib.contextmanager
def _progress(label: str, total: int | None) -> Iterator[Progress | None]:
    """A progress callback (bytes so far) drawing on stderr when it is a terminal and the total is known."""
    if total is None or not sys.stderr.isatty():
        yield None
        return
    with ProgressBar(label) as bar:
        drawn = [0]

        def advance(done: int) -> None:
            bar(done - drawn[0], total)
            drawn[0] = done

        yield advance
