"""domvia_e2ee.vector_files: the repository's vectors/ in a checkout, else the packaged copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO_ROOT
from domvia_e2ee import vector_files


def test_a_checkout_uses_the_repository_vectors() -> None:
    assert vector_files.checkout_vectors_dir() == REPO_ROOT / "vectors"
    assert vector_files.default_vectors_dir() == REPO_ROOT / "vectors"
    assert (vector_files.default_vectors_dir() / "message.json").is_file()


def _fake_package(root: Path) -> Path:
    package = root / "domvia_e2ee"
    package.mkdir(parents=True)
    return package


@pytest.mark.parametrize("siblings", [(), ("vectors",), ("vectors", "spec"), ("spec", "pyproject.toml")])
def test_outside_a_checkout_the_packaged_copy_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      siblings: tuple[str, ...]) -> None:
    """site-packages may hold an unrelated `vectors` (or `spec`) directory: it is never taken for the repository."""
    package = _fake_package(tmp_path / "site-packages")
    for name in siblings:
        if name.endswith(".toml"):
            (package.parent / name).write_text("")
        else:
            (package.parent / name).mkdir()
    monkeypatch.setattr(vector_files, "_PACKAGE_DIR", package)
    monkeypatch.setattr(vector_files, "PACKAGED_VECTORS", package / "_data" / "vectors")
    assert vector_files.checkout_vectors_dir() is None
    assert vector_files.default_vectors_dir() == package / "_data" / "vectors"


def test_a_checkout_needs_pyproject_spec_and_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_package(tmp_path / "clone")
    (package.parent / "pyproject.toml").write_text("")
    (package.parent / "spec").mkdir()
    (package.parent / "vectors").mkdir()
    monkeypatch.setattr(vector_files, "_PACKAGE_DIR", package)
    assert vector_files.default_vectors_dir() == package.parent / "vectors"
