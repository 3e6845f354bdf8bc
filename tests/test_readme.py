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


def _section(title: str) -> str:
    return README.read_text().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_repository_table_lists_every_top_level_directory() -> None:
    import subprocess

    root = README.parent
    listed = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        directories = sorted({line.split("/", 1)[0] for line in listed.stdout.splitlines() if "/" in line})
    else:  # an unpacked sdist: no git
        directories = sorted(p.name for p in root.iterdir() if p.is_dir())
    directories = [d for d in directories if not d.startswith(".")]
    table = _section("Repository")
    missing = [d for d in directories if not re.search(rf"^\| `{re.escape(d)}/[^`]*` \|", table, re.M)]
    assert missing == [], f"not in the README's Repository table: {missing}"


def test_the_dependencies_section_names_every_extra_package() -> None:
    import tomllib

    project = tomllib.loads((README.parent / "pyproject.toml").read_text())["project"]
    section = _section("Dependencies").lower()
    for extra, requirements in project["optional-dependencies"].items():
        for requirement in requirements:
            name = re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0].lower()
            assert name in section, f"the {extra} extra's {name} is not in the README's Dependencies"
    assert "make docs" not in _section("Two commands")
