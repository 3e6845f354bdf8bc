"""Build hook: the published test vectors ride in the wheel as package data.

A regular wheel gets ``vectors/`` as ``domvia_e2ee/_data/vectors``, so ``domvia-e2ee vectors check``
and ``domvia-e2ee conformance`` work from an installed package (``domvia_e2ee/vector_files.py``
finds them). An editable install gets no copy: it reads the repository's ``vectors/`` in place.
(A ``force-include`` table would also copy them into site-packages for editable installs.)
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class VectorsAsPackageData(BuildHookInterface):  # type: ignore[type-arg]
    """Adds vectors/ to the standard wheel only."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"]["vectors"] = "domvia_e2ee/_data/vectors"
