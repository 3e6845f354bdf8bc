"""The README's example is code users will paste: it must run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no Python example"
    out, scope = io.StringIO(), {}
    with contextlib.redirect_stdout(out):
        for block in blocks:  # later examples continue the first one, as a reader would
            exec(compile(block, str(README), "exec"), scope)
    assert "b'hi alice'" in out.getvalue()


def test_readme_has_exactly_two_setup_commands() -> None:
    text = README.read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make (\w+)", section, re.M)
    assert commands == ["demo", "test"]
