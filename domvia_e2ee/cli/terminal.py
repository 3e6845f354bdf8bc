"""Untrusted text made safe to show on a terminal.

A room member chooses the plaintext, the message and participant ids and the content type of what
it sends; anyone can choose a file name. Written raw to a terminal, such text could move the cursor,
erase the `signed by ...` line and forge another, set the window title, or reorder what is shown with
bidirectional overrides. So, before it reaches a terminal, every such character is made visible:

- C0 controls (U+0000-U+001F, except line feed and tab in multi-line text), DEL (U+007F) and C1
  controls (U+0080-U+009F) are shown as `\\xNN`: ESC is the four characters `\\x1b`;
- the bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E and U+2066-U+2069 as `\\uNNNN`;
- a byte that is not UTF-8 as `\\xNN` (bytes decode with surrogateescape; other lone surrogates as `\\uNNNN`).

Everything else, non-ASCII letters included, is shown as is. Raw bytes written to a pipe or a file are
never changed; --json output escapes every non-ASCII character (ensure_ascii).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from typing import Final, TextIO

BIDI_CONTROLS: Final = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
UNSAFE: Final = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}\ud800-\udfff]")
UNSAFE_EXCEPT_LINES: Final = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}\ud800-\udfff]")
HELP: Final = ("untrusted text shown on a terminal (plaintext, ids, file names) has its control characters made "
               "visible: ESC as \\x1b, bidirectional overrides as \\u202e, bytes that are not UTF-8 as \\xff; "
               "output to a pipe or a file is byte-exact")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, from surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """text with every control, bidirectional override and undecodable byte shown as an escape.

    multiline keeps line feeds and tabs (message plaintext); otherwise they are escaped too (one-line
    messages, where a line feed could start a forged line).
    """
    return (UNSAFE_EXCEPT_LINES if multiline else UNSAFE).sub(_escape, text)


def visible_bytes(data: bytes) -> str:
    """Bytes from an untrusted source, decoded as UTF-8 where they are, as multi-line visible text."""
    return visible(data.decode("utf-8", "surrogateescape"), multiline=True)


class SafeTerminal(io.TextIOBase):
    """A text stream in front of a terminal that makes everything written through it visible().

    Installed over sys.stdout and sys.stderr by the CLI when they are terminals, so that no command
    module can print untrusted text raw. `raw` is the terminal stream itself, for the tool's own
    control sequences (the progress bar's carriage return).
    """

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw

    def write(self, text: str) -> int:
        show(self.raw, visible(text, multiline=True))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True

    @property
    def buffer(self) -> io.BufferedIOBase:
        # Raw bytes (write_stdout) go to the terminal's buffer; write_stdout makes them visible first.
        return self.raw.buffer  # type: ignore[return-value]

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.raw.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.raw.errors


def show(stream: TextIO, text: str) -> None:
    """Writes text, already visible(), to a terminal; what its encoding lacks is shown as \\uNNNN."""
    try:
        stream.write(text)
    except UnicodeEncodeError:  # a terminal in a narrower encoding than UTF-8
        stream.flush()
        stream.buffer.write(text.encode(stream.encoding or "ascii", "backslashreplace"))
        stream.buffer.flush()


def raw(stream: TextIO) -> TextIO:
    """The terminal behind a SafeTerminal (for trusted control sequences), or the stream itself."""
    return stream.raw if isinstance(stream, SafeTerminal) else stream


class guarded:  # noqa: N801 - used as a context manager, like contextlib's lower-case helpers
    """Puts SafeTerminal in front of sys.stdout and sys.stderr while they are terminals; restores them."""

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        if _is_terminal(sys.stdout) and not isinstance(sys.stdout, SafeTerminal):
            sys.stdout = SafeTerminal(sys.stdout)
        if _is_terminal(sys.stderr) and not isinstance(sys.stderr, SafeTerminal):
            sys.stderr = SafeTerminal(sys.stderr)

    def __exit__(self, *exc: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = self.saved


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False
