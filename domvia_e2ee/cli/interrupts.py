"""Ctrl-C and SIGTERM: the one place that turns them into an exit status and a message.

Imported by the entry point before anything else (it imports only the standard library), so that an
interruption at any moment, even while the library is still being imported, ends with a message and
exit status 130 (SIGINT) or 143 (SIGTERM), never a traceback.

SIGTERM raises `Terminated`, a KeyboardInterrupt, where it arrives: the `finally` blocks and the
`except BaseException` clean-ups of the storage package run as for Ctrl-C, so no temp file is left.
After the first signal the next ones are ignored: a second Ctrl-C must not cut that clean-up short
(SIGKILL still ends the process; the next run then removes what it left, see storage.atomic).
"""

from __future__ import annotations

import os
import signal
import sys

TYPE_CHECKING = False  # not `typing`: this module is imported before the handlers exist, so it stays cheap
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Final, NoReturn

EXIT_SIGINT: Final = 128 + signal.SIGINT
EXIT_SIGTERM: Final = 128 + signal.SIGTERM
HANDLED: Final = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


received: int | None = None  # the signal that interrupted this process, once one has


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global received
    for other in HANDLED:
        signal.signal(other, signal.SIG_IGN)
    received = signum
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install() -> dict[int, Any]:
    """Installs the handlers (main thread only; elsewhere it does nothing); returns the previous ones."""
    previous: dict[int, Any] = {}
    try:
        for signum in HANDLED:
            previous[signum] = signal.signal(signum, _on_signal)
    except ValueError:  # not the main thread: leave the embedding program's handling alone
        pass
    return previous


def restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        try:
            signal.signal(signum, handler)
        except ValueError:  # not the main thread
            return


def ignore() -> None:
    """From now on SIGINT and SIGTERM are ignored (the command is over; the process is exiting)."""
    restore(dict.fromkeys(HANDLED, signal.SIG_IGN))


def exit_now(status: int) -> NoReturn:
    """Ends an interrupted process with `status`, after flushing stdout and stderr.

    os._exit, not SystemExit: if the interruption was raised inside code that an extension module
    ran through PyRun_String (during imports), CPython remembers it as an unhandled KeyboardInterrupt
    and would kill the process with SIGINT at exit, whatever status main() returned. Every clean-up
    (temp files, locks) has run by then, in the `finally` blocks the interruption went through.
    """
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing more to say
            stream.flush()
    os._exit(status)


def status(interrupt: KeyboardInterrupt) -> int:
    return EXIT_SIGTERM if isinstance(interrupt, Terminated) else EXIT_SIGINT


def mark() -> int:
    """How many files the storage package has renamed into place so far (0 before it is imported)."""
    atomic = sys.modules.get("domvia_e2ee.storage.atomic")
    return 0 if atomic is None else int(atomic.commit_count())


def message(since: int) -> str:
    """Says whether the interrupted command changed anything: the files renamed into place since `since`."""
    atomic = sys.modules.get("domvia_e2ee.storage.atomic")
    written = [] if atomic is None else list(dict.fromkeys(str(p) for p in atomic.committed_since(since)))
    if not written:
        return "interrupted: nothing was changed"
    return f"interrupted after {', '.join(written)} {'was' if len(written) == 1 else 'were'} written"
