"""`demo`: a room's life over an in-process relay (domvia_e2ee/demo.py)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .io import emit_ok, wants_json


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="show a room's whole life over an in-process relay",
        description="Three members chat; one is removed and the room rotates; a new member joins and cannot "
                    "read the history. Each step shows what the relay sees next to what members read.")
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from ..demo import render, story

    steps = story()
    if wants_json(args):
        emit_ok({"steps": [dataclasses.asdict(step) for step in steps]})
    else:
        for line in render(steps):
            print(line)
    return 0
