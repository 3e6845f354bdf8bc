"""Entry point and dispatch. Failures print `domvia-e2ee: error: ...` (and a hint), never a traceback.

Each module named in COMMAND_MODULES lives in domvia_e2ee/cli/ and exposes
`register(commands)`, where `commands` is the top-level argparse subparsers object; every
handler it sets (`set_defaults(handler=...)`) takes the parsed Namespace and returns an int
exit code. main() adds --json and --debug to every leaf command. Shared helpers: cli/io.py.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from ..errors import DomviaError
from . import fields, interrupts, terminal
from .io import PROG, UsageError, emit_json, wants_json

COMMAND_MODULES: tuple[str, ...] = (
    "identity_cmd",
    "user_cmd",
    "device_cmd",
    "room_cmd",
    "keyring_cmd",
    "backup_cmd",
    "message_cmd",
    "demo_cmd",
    "attachment_cmd",
    "vectors_cmd",
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

DESCRIPTION = "End-to-end encryption for DomVia chat rooms: identities, rooms, key rings, sealed messages."
EPILOG = """\
exit status:
  0  success
  1  failure: a bad, tampered or unreadable input or file, a refused operation, an I/O error
  2  usage error: unknown option, missing argument, impossible combination
  130, 143  interrupted by Ctrl-C (SIGINT) or SIGTERM: the message says whether anything was
     written ("interrupted: nothing was changed"); no temp file is left behind

conventions:
  Private identity and key ring files are created with mode 0600 and never overwritten; they are
  refused when group or others can read them. Every file is written atomically (temp file, fsync,
  rename), so a failure leaves the previous files intact and no partial output behind.
  Passphrases come from --passphrase-fd N, --passphrase-env NAME or a terminal prompt, never argv.
  Every command takes --json (one JSON object on stdout) and --debug (tracebacks on errors).

terminal output:
  Text that others choose (message plaintext, ids, content types, file names) is shown on a
  terminal with its control characters made visible: ESC as the four characters \\x1b, other C0
  and C1 controls and DEL as \\xNN, bidirectional overrides as \\u202e, and bytes that are not
  UTF-8 as \\xff. Messages on stderr always are. Output to a pipe or a file (-o) is byte-exact, and
  --json escapes every non-ASCII character.
"""


class ArgumentsError(Exception):
    """What argparse found wrong with the command line; main() reports it (exit status 2)."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.hint = f"run '{prog} --help' for usage"


class Parser(argparse.ArgumentParser):
    """argparse with the tool's message format, exit code 2 for usage errors, and no abbreviated options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ArgumentsError(message, self.prog)


def version() -> str:
    try:
        return importlib.metadata.version("domvia-e2ee")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}",
                        help="print the version and exit")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout, for scripts")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(commands)
    _add_common_options(parser)
    return parser


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return [parser]
    return [leaf for group in groups for child in group.choices.values() for leaf in _leaves(child)]


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a leaf from resetting a --json/--debug given before the command name.
    for leaf in _leaves(parser):
        if leaf is parser:
            continue
        if "--json" not in leaf._option_string_actions:
            leaf.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                              help="print one JSON object on stdout, for scripts")
        if "--debug" not in leaf._option_string_actions:
            leaf.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                              help="show a traceback on errors")


def main(argv: Sequence[str] | None = None) -> int:
    since = interrupts.mark()
    words = list(sys.argv[1:] if argv is None else argv)
    # --json is honoured for a usage error too, as long as it was given (before any "--").
    asked_json = argparse.Namespace(json="--json" in (words[: words.index("--")] if "--" in words else words))
    with terminal.guarded():  # nothing any command prints can drive the terminal
        try:
            parser = build_parser()
            _check_unknown(parser, words)
            args = parser.parse_args(words)
        except SystemExit as done:  # --help, --version
            return done.code if isinstance(done.code, int) else EXIT_USAGE
        except ArgumentsError as error:
            return _fail(asked_json, "E_USAGE", str(error), error.hint, EXIT_USAGE)
        except KeyboardInterrupt as interrupt:
            return _fail(asked_json, "E_INTERRUPTED", interrupts.message(since), None, interrupts.status(interrupt))
        return run(args, since)


def _check_unknown(parser: argparse.ArgumentParser, words: list[str]) -> None:
    """Reports an unknown option before a missing one: a typo (--identiy) is the cause of both."""
    relaxed = [a for leaf in _all_parsers(parser) for a in leaf._actions if a.option_strings and a.required]
    for action in relaxed:
        action.required = False
    try:
        args, unknown = parser.parse_known_args(words)
    except ArgumentsError:
        return  # some other mistake: the real parse reports it
    finally:
        for action in relaxed:
            action.required = True
    if unknown:
        command = [getattr(args, "command", None)]
        command.append(getattr(args, f"{command[0]}_command", None))
        raise ArgumentsError(f"unrecognized arguments: {' '.join(unknown)}",
                           " ".join([PROG, *filter(None, command)]))


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return [parser, *(p for g in groups for child in g.choices.values() for p in _all_parsers(child))]


def run(args: argparse.Namespace, since: int = 0) -> int:
    try:
        return int(args.handler(args))
    except UsageError as error:
        return _fail(args, "E_USAGE", str(error), error.hint, EXIT_USAGE)
    except DomviaError as error:  # fields named in words: "room id (r)", not "r"
        return _fail(args, error.code, fields.in_words(str(error), error), getattr(error, "hint", None),
                     EXIT_FAILURE, getattr(error, "unreadable", None))
    except BrokenPipeError:
        # The reader went away (`| head`): nothing to report to it; stop writing, like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _fail(args, "E_IO", f"{where}{error.strerror or error}", None, EXIT_FAILURE)
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (interrupts.Terminated): 130 or 143
        return _fail(args, "E_INTERRUPTED", interrupts.message(since), None, interrupts.status(interrupt))
    except Exception as error:  # the CLI never shows a traceback unless asked
        if interrupts.received is not None:
            # The signal's KeyboardInterrupt can land inside a lock's release in a worker pool and surface as
            # another exception (RuntimeError: release unlocked lock): it is still the interruption.
            interrupted = interrupts.Terminated() if interrupts.received == signal.SIGTERM else KeyboardInterrupt()
            return _fail(args, "E_INTERRUPTED", interrupts.message(since), None, interrupts.status(interrupted))
        if getattr(args, "debug", False):
            raise
        first_line = (str(error).splitlines() or [""])[0]
        return _fail(args, "E_INTERNAL", f"unexpected {type(error).__name__}: {first_line}",
                     "rerun with --debug for details, and report it if it persists", EXIT_FAILURE)


def _fail(args: argparse.Namespace, code: str, message: str, hint: str | None, status: int,
          unreadable: Any = None) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    # Library messages hold ids and file names that others chose: shown with controls made visible.
    print(f"{PROG}: error: {terminal.visible(message)}", file=sys.stderr)
    if hint:
        print(f"{PROG}: hint: {terminal.visible(hint)}", file=sys.stderr)
    if wants_json(args):
        error: dict[str, Any] = {"code": code, "message": message, "hint": hint}
        if unreadable is not None:  # why a message cannot be read: spec/unreadable.md
            error["unreadable"] = {"cause": unreadable.cause, "action": unreadable.action, "retry": unreadable.retry,
                                   "message": unreadable.message}
        emit_json({"ok": False, "error": error})
    return status
