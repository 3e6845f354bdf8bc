"""Entry point and dispatch. Errors print `domvia-e2ee: error: ...`, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import DomviaError

PROG = "domvia-e2ee"


def _demo(_: argparse.Namespace) -> int:
    from ..demo import run

    run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="End-to-end encryption for DomVia chat rooms.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="show a room's whole life over an in-process relay")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except DomviaError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the CLI never shows a traceback unless asked
        if args.debug:
            raise
        print(f"{PROG}: error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
        print(f"{PROG}: hint: rerun with --debug for details", file=sys.stderr)
        return 1
