"""Sphinx configuration: `make docs` builds docs/_build/html with warnings as errors."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # the package from this checkout, installed or not

import domvia_e2ee  # noqa: E402

project = "domvia-e2ee"
author = "DomVia engineering"
copyright = "DomVia engineering"  # noqa: A001
release = version = domvia_e2ee.__version__

extensions = ["sphinx.ext.autodoc", "cli_reference"]
exclude_patterns = ["_build", "examples", "pypi.md"]
source_suffix = {".rst": "restructuredtext"}
# The docstrings use `x` for code, as the README does.
default_role = "literal"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Members without a docstring are listed with their signature, so the reference is complete.
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = f"domvia-e2ee {release}"
html_static_path: list[str] = []

# Where the specification and the source live; the spec is Markdown in the repository.
repository = "https://github.com/domvia/domvia-e2ee"
rst_epilog = f"""
.. _repository: {repository}
.. _spec: {repository}/blob/main/spec/README.md
.. _threat model: {repository}/blob/main/spec/threat-model.md
.. _error codes: {repository}/blob/main/spec/errors.md
"""
