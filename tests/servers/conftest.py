"""Fixtures of the server tests that need more than tests/conftest.py: a client host's namespace, its sshd."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.netns import Netns, netns
from tests.servers.sshd import Sshd, private_sshd

__all__ = ["netns", "sshd"]


@pytest.fixture
def sshd(netns: Netns, tmp_path: Path) -> Iterator[Sshd]:
    with private_sshd(netns, tmp_path / "sshd") as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def _no_locust_master_outlives_its_test() -> Iterator[None]:
    """A test that drives locust in this process leaves its run's master behind (one master per run, closed at
    exit): end it, so the next test starts a run of its own, as each servebench process does."""
    yield
    driver = sys.modules.get("probes.bench.loadgen.locust.driver")
    if driver is not None:
        driver.close_fleets()
