"""Fixtures of the server tests that need more than tests/conftest.py: a client host's namespace."""

from __future__ import annotations

from tests.servers.netns import netns

__all__ = ["netns"]
