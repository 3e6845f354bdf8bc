"""Fixtures for the command-line transcript tests: a `cli` runner and a small world of people."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import Cli, World


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def world(cli: Cli) -> World:
    """alice (passphrase-encrypted, the rotator), bob and carol (plain), and room-42 at epoch 1."""
    return World.build(cli)
