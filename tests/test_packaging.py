"""What PyPI and a user's pip see: the sdist and wheel metadata, the licence and the long description.

The dists are built from the working tree once per test process (conftest.built_dists).
"""

from __future__ import annotations

import contextlib
import email
import email.message
import io
import re
import tarfile
import zipfile
from pathlib import Path

from conftest import REPO_ROOT

PYPI_README = REPO_ROOT / "docs" / "pypi.md"
LICENSE = REPO_ROOT / "LICENSE"
BASE_URL = "https://github.com/domvia/domvia-e2ee"
# Inline links and images, reference definitions, autolinks, and HTML attributes.
LINK_TARGETS = (
    re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)"),
    re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M),
    re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^<>\s]*)>"),
    re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.I),
)


def link_targets(markdown: str) -> list[str]:
    return [m.group(1) for pattern in LINK_TARGETS for m in pattern.finditer(markdown)]


def relative_links(markdown: str) -> list[str]:
    """Every link target PyPI could not resolve: anything but an absolute http(s) or mailto URL."""
    return [t for t in link_targets(markdown) if not re.match(r"(https?://[^/\s]+|mailto:)", t)]


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


def test_relative_link_detection() -> None:
    text = ("[spec](spec/README.md) ![logo](img/logo.png) [ok](https://example.org/x) [anchor](#install)\n"
            "[ref]: ../docs/index.rst\n<a href=\"docs/x.html\">x</a> <https://example.org/y> <ftp:x>\n")
    assert sorted(relative_links(text)) == sorted(["spec/README.md", "img/logo.png", "#install", "../docs/index.rst",
                                                   "docs/x.html", "ftp:x"])


def test_the_licence_is_the_apache_2_text() -> None:
    text = LICENSE.read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    for section in ("1. Definitions.", "4. Redistribution.", "9. Accepting Warranty or Additional Liability.",
                    "END OF TERMS AND CONDITIONS"):
        assert section in text
    assert len(text) > 10_000


def test_the_licence_is_in_the_sdist_and_the_wheel(built_dists: tuple[Path, Path]) -> None:
    sdist, wheel = built_dists
    expected = LICENSE.read_bytes()
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE"))
        handle = archive.extractfile(member)
        assert handle is not None and handle.read() == expected
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert len(names) == 1, archive.namelist()
        assert archive.read(names[0]) == expected


def test_the_sdist_carries_what_the_wheel_and_the_tests_need(built_dists: tuple[Path, Path]) -> None:
    sdist, _ = built_dists
    with tarfile.open(sdist) as archive:
        names = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    for required in ("pyproject.toml", "hatch_build.py", "docs/pypi.md", "vectors/message.json",
                     "vectors/pinned/xwing.json", "spec/README.md", "domvia_e2ee/__init__.py", "tests/conftest.py"):
        assert required in names, required
    assert not any(n.startswith(("docs/_build/", ".venv/")) or "/__pycache__/" in n for n in names)


def test_the_wheel_metadata(built_dists: tuple[Path, Path]) -> None:
    _, wheel = built_dists
    meta = wheel_metadata(wheel)
    assert meta["Name"] == "domvia-e2ee"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["License-File"] == "LICENSE"
    assert meta["Author"] == "DomVia engineering"
    urls = dict(line.split(", ", 1) for line in meta.get_all("Project-URL", []))
    assert set(urls) == {"Homepage", "Documentation", "Source", "Issues"}
    assert all(url.startswith(BASE_URL) for url in urls.values()), urls
    classifiers = meta.get_all("Classifier", [])
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Topic :: Security :: Cryptography" in classifiers
    assert "Typing :: Typed" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers), "License-Expression replaces licence classifiers"
    assert meta["Description-Content-Type"] == "text/markdown"


def test_the_long_description_is_docs_pypi_md(built_dists: tuple[Path, Path]) -> None:
    _, wheel = built_dists
    description = wheel_metadata(wheel).get_payload()
    assert isinstance(description, str)
    assert description.strip() == PYPI_README.read_text(encoding="utf-8").strip()


def test_the_long_description_has_no_relative_links() -> None:
    text = PYPI_README.read_text(encoding="utf-8")
    assert link_targets(text), "the long description links to the docs and the spec"
    assert relative_links(text) == []
    external = [t for t in link_targets(text) if not t.startswith(BASE_URL)]
    assert external == [], f"links outside {BASE_URL}: {external}"


def test_the_long_description_is_an_introduction() -> None:
    text = PYPI_README.read_text(encoding="utf-8")
    assert "pip install domvia-e2ee" in text
    for heading in ("## Install", "## Example", "## Documentation"):
        assert heading in text
    assert "/spec/" in text and "/docs" in text
    assert not re.search(r"^\s*\|", text, re.M), "no tables: the benchmarks live in the repository"
    assert "µs" not in text and "MiB" not in text
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) <= 14


def test_the_long_description_example_runs() -> None:
    text = PYPI_README.read_text(encoding="utf-8")
    out, scope = io.StringIO(), {}
    with contextlib.redirect_stdout(out):
        for block in re.findall(r"```python\n(.*?)```", text, re.S):
            exec(compile(block, str(PYPI_README), "exec"), scope)
    assert out.getvalue().strip() == "b'hi alice'"

