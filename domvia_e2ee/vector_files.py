"""Where the published test vectors live: the repository's ``vectors/`` or the packaged copy.

In a checkout (``pip install -e .`` or running from the source tree) the vectors are the
repository's ``vectors/`` directory, the one ``python -m domvia_e2ee._vectors write``
regenerates. An installed wheel carries a copy of the same files as package data in
``domvia_e2ee/_data/vectors`` (``[tool.hatch.build.targets.wheel.force-include]`` in
``pyproject.toml``), so ``domvia-e2ee vectors check`` and ``domvia-e2ee conformance`` work
without the repository.

This module imports nothing from the package, so any module (including ``_vectors``) can use it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGED_VECTORS", "checkout_vectors_dir", "default_vectors_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_VECTORS = _PACKAGE_DIR / "_data" / "vectors"
"""The copy of ``vectors/`` inside an installed wheel (absent in a checkout)."""


def checkout_vectors_dir() -> Path | None:
    """The repository's ``vectors/`` when the package runs from a checkout, else ``None``.

    A checkout is recognised by the package's parent directory holding ``pyproject.toml``,
    ``spec/`` and ``vectors/`` side by side, so an unrelated ``vectors`` directory next to an
    installed package (in ``site-packages``) is never mistaken for it.
    """
    root = _PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "spec").is_dir() and (root / "vectors").is_dir():
        return root / "vectors"
    return None


def default_vectors_dir() -> Path:
    """The directory ``vectors check`` and ``conformance`` read when ``--vectors`` is not given.

    The repository's ``vectors/`` in a checkout, else the copy packaged in the wheel. The path
    is returned even when it does not exist (a package installed without its data); callers
    report that as "no vectors found in PATH". Raises nothing.
    """
    checkout = checkout_vectors_dir()
    return checkout if checkout is not None else PACKAGED_VECTORS
