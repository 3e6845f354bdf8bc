"""The documentation in docs/: it builds with warnings as errors, and every Python example in it runs.

Each page's Python (``.. code-block:: python`` blocks and ``.. literalinclude::`` pieces of
docs/examples/*.py) is executed in the order the page shows it, in one namespace per page, as a
reader would paste it. A ``print(...)  # text`` line claims its output: those claims are checked,
in order (``# e.g. ...`` marks an output that varies).
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.glob("*.rst"))
EXAMPLES = sorted((DOCS / "examples").glob("*.py"))
DIRECTIVE = re.compile(r"^\.\. (code-block|literalinclude):: *(\S*)\n((?:[ \t]+:[\w-]+:.*\n)*)\n?((?:(?:[ \t]+.*)?\n)*)",
                       re.M)


def python_pieces(page: Path) -> list[tuple[str, str]]:
    """(where, code) of every Python example on the page, in order."""
    pieces = []
    for match in DIRECTIVE.finditer(page.read_text(encoding="utf-8")):
        kind, argument, options_text, body = match.groups()
        options = dict(re.findall(r"^\s+:([\w-]+):\s*(.*)$", options_text, re.M))
        if kind == "code-block" and argument == "python":
            pieces.append((f"{page.name} code-block", _dedent(body)))
        elif kind == "literalinclude" and (argument.endswith(".py") or options.get("language") == "python"):
            source = (page.parent / argument).read_text(encoding="utf-8")
            if "start-after" in options:
                assert options["start-after"] in source, f"{page.name}: {options['start-after']!r} not in {argument}"
                source = source.split(options["start-after"], 1)[1].split("\n", 1)[1]
            if "end-before" in options:
                assert options["end-before"] in source, f"{page.name}: {options['end-before']!r} not in {argument}"
                source = source.split(options["end-before"], 1)[0]
            pieces.append((f"{page.name} {argument} {options.get('start-after', '')}".strip(), source))
    return pieces


def _dedent(body: str) -> str:
    lines = body.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines).rstrip() + "\n"


def claimed_outputs(code: str) -> list[str]:
    """The outputs `print(...)  # text` lines claim, with a trailing parenthetical remark removed."""
    claims = []
    for comment in re.findall(r"^\s*print\(.*\)\s*#\s*(.+)$", code, re.M):
        if not comment.startswith("e.g."):
            claims.append(re.sub(r"\s+\([^()]*\)$", "", comment).strip())
    return claims


def is_subsequence(claims: list[str], lines: list[str]) -> bool:
    remaining = iter(lines)
    return all(any(line == claim for line in remaining) for claim in claims)


def test_the_example_checker_sees_pieces_and_claims(tmp_path: Path) -> None:
    (tmp_path / "ex.py").write_text("x = 1\n# [a]\nprint(x)  # 1 (one)\n# [end a]\nraise SystemExit\n")
    page = tmp_path / "page.rst"
    page.write_text(".. code-block:: python\n\n   y = 2\n   print(y)  # 2\n\ntext\n\n"
                    ".. literalinclude:: ex.py\n   :start-after: # [a]\n   :end-before: # [end a]\n\n"
                    ".. code-block:: sh\n\n   rm -rf /\n")
    pieces = python_pieces(page)
    assert [code for _, code in pieces] == ["y = 2\nprint(y)  # 2\n", "print(x)  # 1 (one)\n"]
    assert claimed_outputs("".join(code for _, code in pieces)) == ["2", "1"]
    assert is_subsequence(["2", "1"], ["2", "noise", "1"]) and not is_subsequence(["1", "2"], ["2", "1"])


def test_every_page_with_examples_is_found() -> None:
    with_python = {page.name for page in PAGES if python_pieces(page)}
    assert {"tutorial-chat-client.rst", "tutorial-bot.rst"} <= with_python
    chat = "".join(code for _, code in python_pieces(DOCS / "tutorial-chat-client.rst"))
    assert len(claimed_outputs(chat)) >= 5, "the chat tutorial states what its prints show"


@pytest.mark.parametrize("page", [p for p in PAGES if "python" in p.read_text(encoding="utf-8")], ids=lambda p: p.name)
def test_the_python_examples_of_a_page_run_in_order(page: Path) -> None:
    scope: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    out = io.StringIO()
    code_shown = ""
    with contextlib.redirect_stdout(out):
        for where, code in python_pieces(page):
            exec(compile(code, where, "exec"), scope)
            code_shown += code
    claims, lines = claimed_outputs(code_shown), out.getvalue().splitlines()
    assert is_subsequence(claims, lines), f"{page.name} claims {claims}, printed {lines}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_file_runs_as_a_script_and_is_shown(example: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(example)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    markers = re.findall(r"^# \[(?!end )([\w-]+)\]$", example.read_text(encoding="utf-8"), re.M)
    shown = "".join(page.read_text(encoding="utf-8") for page in PAGES)
    for marker in markers:
        assert f":start-after: # [{marker}]" in shown, f"{example.name} [{marker}] is on no page"


def test_the_spec_page_links_every_spec_file() -> None:
    text = (DOCS / "spec.rst").read_text(encoding="utf-8")
    for spec in sorted((REPO_ROOT / "spec").glob("*.md")):
        assert f"https://github.com/domvia/domvia-e2ee/blob/main/spec/{spec.name}>" in text, spec.name


def test_the_docs_build_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="sphinx is not installed: pip install -e '.[docs]' (or the test extra)")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    api = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    for name in ("domvia_e2ee.KeyRing", "domvia_e2ee.Room", "domvia_e2ee.Identity", "domvia_e2ee.DomviaError",
                 "domvia_e2ee.attachment.seal_file", "domvia_e2ee.attachment.open_file"):
        assert f'id="{name}"' in api, f"{name} missing from the API reference"
    cli = (tmp_path / "html" / "cli.html").read_text(encoding="utf-8")
    for command in ("domvia-e2ee room create", "domvia-e2ee keyring accept", "domvia-e2ee conformance"):
        assert command in cli, f"{command} missing from the CLI reference"
