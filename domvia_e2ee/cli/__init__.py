"""The domvia-e2ee command line. No cryptography here: it parses, calls the library, reports.

`main` is the entry point (the `domvia-e2ee` command, `python -m domvia_e2ee` and
`python -m domvia_e2ee.cli`). It installs the Ctrl-C and SIGTERM handling first and imports the
rest of the tool inside its guard, so that an interruption at any moment, start-up included, ends
with a message and exit status 130 or 143, never a traceback (see cli/interrupts.py). Only the
interpreter's own start-up, before this package runs, is out of its reach.
"""

from __future__ import annotations

import sys

from . import interrupts

TYPE_CHECKING = False  # not `typing`: see interrupts.py
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command and returns its exit status; argv defaults to sys.argv[1:].

    Called without argv it is the process's entry point: the signal handlers stay installed (then
    ignore late signals) and an interrupted run ends the process with status 130 or 143 at once.
    Called with argv, from a program, it gives that program its signal handlers back.
    """
    previous: dict[int, Any] = {}
    try:
        previous = interrupts.install()
        status = _guarded(argv)
    except KeyboardInterrupt as interrupt:  # Python's own handler, before ours was installed
        status = _report(interrupt, 0)
    try:
        if argv is None:
            interrupts.ignore()
        else:
            interrupts.restore(previous)
    except KeyboardInterrupt:
        pass  # arrived once the command had finished: its status stands
    if argv is None and interrupts.received is not None and status == 128 + interrupts.received:
        interrupts.exit_now(status)
    return status


def _guarded(argv: Sequence[str] | None) -> int:
    since = interrupts.mark()
    try:
        from .main import main as run_command  # inside the guard: importing the library takes a while

        return run_command(argv)
    except KeyboardInterrupt as interrupt:  # before the command's own handler could report it
        return _report(interrupt, since)
    except Exception as error:  # the tool itself failed to import: still no traceback
        if interrupts.received is not None:  # an interruption that an extension module's init turned into this
            sys.stderr.write(f"domvia-e2ee: error: {interrupts.message(since)}\n")
            return 128 + interrupts.received
        if "--debug" in (sys.argv[1:] if argv is None else argv):
            raise
        first_line = (str(error).splitlines() or [""])[0]
        sys.stderr.write(f"domvia-e2ee: error: cannot start: {type(error).__name__}: {first_line}\n"
                         "domvia-e2ee: hint: reinstall domvia-e2ee, or rerun with --debug for details\n")
        return 1


def _report(interrupt: KeyboardInterrupt, since: int) -> int:
    sys.stderr.write(f"domvia-e2ee: error: {interrupts.message(since)}\n")
    return interrupts.status(interrupt)
