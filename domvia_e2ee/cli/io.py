"""Helpers every command module shares. No cryptography here.

Errors and exit codes
    Return 0 from a handler on success. Raise `UsageError(message, hint=...)` for a usage problem
    found after parsing (exit 2); raise any DomviaError for a failure (exit 1). main() prints
    `domvia-e2ee: error: <message>` and, when the error has a `hint`, `domvia-e2ee: hint: <hint>`.
    With --json it also prints {"ok": false, "error": {"code", "message", "hint"}} on stdout.

Input and output
    add_input_output(parser)           adds -i/--input FILE and -o/--output FILE ("-" means stdin/stdout).
    read_input(args.input, limit=N)    bytes of FILE or stdin; more than N bytes is an error naming the input.
    stage_output(args.output, data)    a storage.Staged temp file for -o, or None for stdout. Commit it only
                                       once the operation has succeeded: a failure leaves no output file.
    write_stdout(data, binary=...)     raw bytes to stdout (byte-exact to a pipe or file); refuses binary output to
                                       a terminal, and shows text there with its controls made visible.
    check_binary_destination(path, binary)  call first: binary output to a terminal is a usage error.

Reporting
    wants_json(args) / emit_ok(obj)    --json is on every command: print exactly one object, {"ok": true, ...}
                                       (emit_json(obj) prints an object as is).
    plural(n, "message")               "1 message", "2 messages": every count printed for people.
    note(text)                         `domvia-e2ee: <text>` on stderr, for humans (stdout stays clean), with
                                       controls made visible (cli/terminal.py: every untrusted string on a
                                       terminal goes through terminal.visible; main() guards sys.stdout/stderr).
    ProgressBar(label)                 progress=callable(done_increment, total) for Room methods; draws on
                                       stderr only when it is a terminal; thread-safe; use it in a with block.

Passphrases (never from argv)
    add_passphrase_options(parser)     --passphrase-fd N and --passphrase-env NAME.
    Passphrases(args)                  .existing(path) -> callable for storage.load_identity (asks once,
                                       only if the file is encrypted); .new() for a new file (prompts twice).
                                       Without fd or env it prompts on /dev/tty, or fails with a hint.
    add_secret_options(parser, NAME, what), Passphrases(args, NAME)
                                       the same for a second secret (--NAME-fd, --NAME-env, a prompt).
    write_new_pair(private, data, public, data)  a new private key file (0600) and its public file (0644),
                                       neither over an existing file; both or neither are left.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from ..storage import PUBLIC_MODE, FileError, Passphrase, Staged, commit_all, discard_all, read_file
from .terminal import raw, show, visible, visible_bytes

PROG: Final = "domvia-e2ee"
MAX_PASSPHRASE: Final = 4096
STDIO: Final = "-"


class UsageError(Exception):
    """The command line asks for something impossible; exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


# -- reporting -------------------------------------------------------------------------------


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def emit_json(obj: Any) -> None:
    # ensure_ascii: non-ASCII text, bidirectional overrides included, is escaped (\\u202e), never raw.
    sys.stdout.write(json.dumps(obj, sort_keys=True, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 message', '2 messages' (words: the plural when it is not word + 's')."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def note(text: str) -> None:
    """One line on stderr. It may hold ids and file names, so controls are always made visible (terminal.py)."""
    print(f"{PROG}: {visible(text)}", file=sys.stderr)


class ProgressBar:
    """Progress on stderr when it is a terminal; a no-op otherwise. Callable from several threads."""

    INTERVAL: Final = 0.1

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._done = 0
        self._drawn_at = 0.0
        self._drawn = False

    def __call__(self, increment: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._done += increment
            now = time.monotonic()
            if self._done < total and now - self._drawn_at < self.INTERVAL:
                return
            self._drawn_at = now
            percent = 100 * self._done // max(total, 1)
            stderr = raw(sys.stderr)  # the carriage return is the tool's own, not untrusted text
            stderr.write(f"\r{PROG}: {visible(self.label)} {self._done}/{total} ({percent}%)")
            stderr.flush()
            self._drawn = True

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


# -- input and output --------------------------------------------------------------------------


def add_input_output(parser: argparse.ArgumentParser, *, what_in: str, what_out: str) -> None:
    parser.add_argument("-i", "--input", metavar="FILE", default=STDIO, help=f"read {what_in} from FILE (default: stdin)")
    parser.add_argument("-o", "--output", metavar="FILE", default=STDIO,
                        help=f"write {what_out} to FILE, atomically (default: stdout)")


def read_input(path: str, *, limit: int, what: str) -> bytes:
    if path == STDIO:
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise FileError("stdin", f"{what} larger than {limit} bytes")
        return data
    return read_file(path, limit=limit)


def stage_output(path: str, data: bytes, *, private: bool = False) -> Staged | None:
    """A temp file for -o FILE (mode 0600 if private, else 0644), or None when writing to stdout."""
    if path == STDIO:
        return None
    return Staged(path, data, mode=0o600 if private else PUBLIC_MODE)


def refuse_existing(*paths: str | None) -> None:
    """Key files and their public halves are never overwritten: refuse before any work (E_IO)."""
    for path in paths:
        if path is not None and os.path.lexists(path):
            raise FileError(path, "already exists; refusing to overwrite it", code="E_IO",
                            hint="choose another file name, or move the existing file away first")


def write_new_pair(private_path: str, private: bytes, public_path: str | None, public: bytes) -> None:
    """A new private key file (0600) and its public file (0644), each created exclusively: if the
    public file cannot be written, the private one (created a moment ago, by us) is removed again."""
    staged = [Staged(private_path, private, exclusive=True)]
    try:
        if public_path is not None:
            staged.append(Staged(public_path, public, mode=PUBLIC_MODE, exclusive=True))
    except BaseException:
        discard_all(staged)
        raise
    commit_all(staged[:1], rest=staged[1:])
    try:
        commit_all(staged[1:])
    except BaseException:
        Path(private_path).unlink(missing_ok=True)
        raise


def write_stdout(data: bytes, *, binary: bool = False) -> None:
    if binary and sys.stdout.isatty():
        raise UsageError("refusing to write binary output to a terminal", hint="pass -o FILE, or redirect stdout")
    sys.stdout.flush()
    if sys.stdout.isatty():  # untrusted bytes (plaintext) must not drive the terminal: terminal.py
        show(raw(sys.stdout), visible_bytes(data))
        sys.stdout.flush()
        return
    sys.stdout.buffer.write(data)  # a pipe or a file: byte-exact
    sys.stdout.buffer.flush()


def check_binary_destination(path: str, binary: bool) -> None:
    """Call before any work: a binary result bound for a terminal is refused up front."""
    if binary and path == STDIO and sys.stdout.isatty():
        raise UsageError("refusing to write binary output to a terminal", hint="pass -o FILE, or redirect stdout")


# -- passphrases -------------------------------------------------------------------------------


def add_passphrase_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("passphrase (never on the command line)")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--passphrase-fd", metavar="N", type=int,
                        help="read the passphrase from file descriptor N (its first line)")
    source.add_argument("--passphrase-env", metavar="NAME",
                        help="read the passphrase from environment variable NAME")


def add_secret_options(parser: argparse.ArgumentParser, name: str, what: str) -> None:
    """--NAME-fd N and --NAME-env NAME for a second secret (a backup's recovery key or passphrase), read
    exactly as passphrases are: Passphrases(args, name).existing(path, what)."""
    group = parser.add_argument_group(f"{what} (never on the command line)")
    source = group.add_mutually_exclusive_group()
    source.add_argument(f"--{name}-fd", metavar="N", type=int, help=f"read the {what} from file descriptor N (its first line)")
    source.add_argument(f"--{name}-env", metavar="NAME", help=f"read the {what} from environment variable NAME")


class Passphrases:
    """Where this invocation's passphrase (or, with ``name``, another secret given by add_secret_options)
    comes from: a descriptor, a variable, or a prompt."""

    def __init__(self, args: argparse.Namespace, name: str = "passphrase") -> None:
        attribute = name.replace("-", "_")
        self.fd: int | None = getattr(args, f"{attribute}_fd", None)
        self.env: str | None = getattr(args, f"{attribute}_env", None)
        self.options = f"--{name}-fd N or --{name}-env NAME"
        self._cached: bytes | None = None

    def existing(self, path: str | Path, what: str = "passphrase") -> Passphrase:
        def ask() -> bytes:
            if self._cached is None:
                self._cached = self._given() or self._prompt(f"{what} for {path}: ", path, what)
            return self._cached
        return ask

    def new(self, path: str | Path, what: str = "passphrase") -> bytes:
        passphrase = self._given()
        if passphrase is None:
            passphrase = self._prompt(f"new {what} for {path}: ", path, what)
            if self._prompt("repeat it: ", path, what) != passphrase:
                raise UsageError(f"the two {what}s differ")
        if not passphrase:
            raise UsageError(f"the {what} is empty", hint=f"an empty {what} protects nothing")
        return passphrase

    def _given(self) -> bytes | None:
        if self.fd is not None:
            return _read_fd(self.fd)
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise UsageError(f"environment variable {self.env} is not set")
            return value.encode("utf-8")
        return None

    def _prompt(self, prompt: str, path: str | Path, what: str = "passphrase") -> bytes:
        try:
            os.close(os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC))
        except OSError:
            raise UsageError(f"{path} needs a {what} and there is no terminal to ask for it",
                             hint=f"pass {self.options}") from None
        return getpass.getpass(visible(prompt)).encode("utf-8")  # the prompt names a file: made visible


def _read_fd(fd: int) -> bytes:
    """The first line of descriptor fd, without its line ending."""
    data = b""
    try:
        while b"\n" not in data and len(data) <= MAX_PASSPHRASE:
            chunk = os.read(fd, 512)
            if not chunk:
                break
            data += chunk
    except OSError as error:
        raise UsageError(f"cannot read the passphrase from descriptor {fd}: {error.strerror}") from None
    line = data.split(b"\n", 1)[0].removesuffix(b"\r")
    if len(line) > MAX_PASSPHRASE:
        raise UsageError(f"the passphrase from descriptor {fd} is longer than {MAX_PASSPHRASE} bytes")
    return line


def emit_ok(obj: dict[str, Any]) -> None:
    """The --json success object: {"ok": true, ...}."""
    emit_json({"ok": True, **obj})
