"""Fixtures of the server tests that need more than tests/conftest.py: a client host's namespace, its sshd."""

from __future__ import annotations

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
