"""Shared test helpers.

External vectors (Wycheproof, RFC 9180, the XChaCha draft) are read in place from
../shared/vectors-external relative to the repository root and never copied into the repo.
Use the `external_vectors` fixture inside a test, or `load_external_vectors` where a fixture
cannot reach (a helper function). Both skip the test, with the reason, when the file is absent.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parent.parent
# DOMVIA_EXTERNAL_VECTORS points elsewhere (tests/test_suite_summary.py uses it to run as a user's clone does).
EXTERNAL_VECTORS_DIR = Path(os.environ.get("DOMVIA_EXTERNAL_VECTORS") or REPO_ROOT.parent / "shared" / "vectors-external")
EXTERNAL_SKIP_REASON = "../shared/vectors-external not present"
EXTERNAL_PROPERTY = "external_vectors"

# No deadline: on shared cores a timing says nothing about correctness, and the suite never
# asserts speed. HYPOTHESIS_PROFILE=thorough runs ten times as many examples.
settings.register_profile("domvia", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
# Mutation testing runs the suite once per mutant: fewer examples keep it within hours (tests/README.md).
settings.register_profile("mutation", deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "domvia"))


@functools.cache
def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_external_vectors(name: str) -> Any:
    """The parsed JSON of ../shared/vectors-external/NAME; skips the calling test if it is absent.

    The value is cached and shared between tests: read it, never mutate it.
    """
    path = EXTERNAL_VECTORS_DIR / name
    if not path.is_file():
        pytest.skip(f"{EXTERNAL_SKIP_REASON}: {path} is missing")
    if _running and (EXTERNAL_PROPERTY, name) not in _running[-1].user_properties:
        # Travels with the test's report (also from xdist workers) to the summary below.
        _running[-1].user_properties.append((EXTERNAL_PROPERTY, name))
    return _read_json(path)


# The test being run in this process, so load_external_vectors can tag its report.
_running: list[pytest.Item] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


class _ExternalVectorTally:
    """Which tests read ../shared/vectors-external, and which skipped because it is absent.

    Fed by every test report the controlling process sees (xdist sends the workers' reports
    there), so the count is right with and without -n.
    """

    def __init__(self) -> None:
        self.ran: set[str] = set()
        self.failed: set[str] = set()
        self.skipped: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            if EXTERNAL_SKIP_REASON in reason:
                self.skipped.add(report.nodeid)
        elif report.when == "call" and any(key == EXTERNAL_PROPERTY for key, _ in report.user_properties):
            self.ran.add(report.nodeid)
            if report.failed:
                self.failed.add(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not (self.ran or self.skipped):
            return
        line = f"external vectors ({EXTERNAL_VECTORS_DIR}): {len(self.ran)} tests ran"
        if self.failed:
            line += f", {len(self.failed)} of them failed"
        if self.skipped:
            line += (f"; {len(self.skipped)} skipped because the directory is absent, "
                     "so this run did not check Wycheproof, RFC 9180 or the XChaCha draft")
        terminalreporter.write_sep("-", line, yellow=bool(self.skipped), green=not self.skipped and not self.failed)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controlling process (or a run without xdist)
        config.pluginmanager.register(_ExternalVectorTally(), "domvia-external-vector-tally")


@pytest.fixture(name="external_vectors")
def _external_vectors_fixture() -> Callable[[str], Any]:
    """external_vectors(name) -> parsed JSON of ../shared/vectors-external/name, or a skip."""
    return load_external_vectors


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) built from the working tree, once per test process (per xdist worker).

    `python -m build --no-isolation` uses the hatchling of the test environment (the `test` extra
    installs it and `build`), so no network is needed. It builds the sdist first and the wheel from
    the sdist, which also checks that the sdist holds everything the wheel needs.
    """
    pytest.importorskip("build", reason="the `build` package (test extra) is needed to build the sdist and wheel")
    pytest.importorskip("hatchling", reason="hatchling (test extra) is needed to build without network")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO_ROOT)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return sdists[0], wheels[0]
