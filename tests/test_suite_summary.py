"""The suite's own reporting: a run says how many external-vector tests it ran, with and without xdist.

In a user's clone ../shared/vectors-external is absent and those tests skip; the summary line
(conftest._ExternalVectorTally) keeps such a green run from looking like a full one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import EXTERNAL_VECTORS_DIR, REPO_ROOT

# Two tests that read external files, and one that only checks the skip message (not counted).
SELECTION = ["tests/test_external_vectors.py", "-k",
             "xchacha_draft_vector or hkdf_sha256 or a_missing_vector_file_skips"]


def _pytest(*args: str, external: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DOMVIA_EXTERNAL"))}
    if external is not None:
        env["DOMVIA_EXTERNAL_VECTORS"] = external
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *SELECTION, *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_summary_counts_external_vector_tests_that_ran(mode: list[str]) -> None:
    if not EXTERNAL_VECTORS_DIR.is_dir():
        pytest.skip(f"../shared/vectors-external not present: {EXTERNAL_VECTORS_DIR} is missing")
    out = _pytest(*mode)
    assert re.search(r"external vectors \(.*\): 2 tests ran -", out), out
    assert "skipped because the directory is absent" not in out


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_summary_says_when_external_vector_tests_skipped(mode: list[str], tmp_path: object) -> None:
    out = _pytest(*mode, "-rs", external=str(tmp_path))
    assert re.search(r"external vectors \(.*\): 0 tests ran; 2 skipped because the directory is absent", out), out
    assert "SKIPPED" in out and "../shared/vectors-external not present" in out  # -rs prints the reasons
