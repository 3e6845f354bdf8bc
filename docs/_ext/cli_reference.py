"""``.. cli-reference::``: every command of ``domvia-e2ee`` with its ``--help``, from the argparse parser.

Generated at build time from ``domvia_e2ee.cli.main.build_parser()``, so the reference cannot
drift from the tool.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

WIDTH = "96"


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(command words, help text) for the parser and every sub-command, depth first, in definition order."""
    yield path, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


class CliReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from domvia_e2ee.cli.main import build_parser

        previous = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = WIDTH  # argparse wraps help to the terminal width
        try:
            entries = list(commands(build_parser()))
        finally:
            if previous is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = previous
        lines: list[str] = []
        for path, text in entries:
            title = " ".join(("domvia-e2ee", *path))
            lines += [f".. rubric:: ``{title}``", "", ".. code-block:: text", ""]
            lines += [f"   {line}".rstrip() for line in text.rstrip().splitlines()]
            lines.append("")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="domvia_e2ee.cli.main.build_parser()"),
                                self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("cli-reference", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
