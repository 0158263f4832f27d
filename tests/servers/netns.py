"""A client host simulated on this machine: a network namespace joined by a veth pair (a /30 of
198.18.0.0/15, the range reserved for network benchmarks and never routed), torn down even when a
test fails. Root only; under CI=true a missing capability fails instead of skipping."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address

import pytest

from probes.bench.loadgen.reach import is_this_host
from tests.conftest import IN_CI, SYSTEM_PATH

_BASE = IPv4Address("198.18.0.0")
_COUNTER = itertools.count()


@dataclass(frozen=True)
class Netns:
    name: str
    server_address: str  # this host's end of the veth
    client_address: str  # the namespace's end


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10, env={"PATH": SYSTEM_PATH})


@contextmanager
def client_netns() -> Iterator[Netns]:
    """A uniquely named namespace and veth pair with a /30 of its own, links up; `ip netns del` after."""
    if os.geteuid() != 0:
        _unavailable("a network namespace needs root")
    tag = f"{os.getpid() % 100000}x{next(_COUNTER)}"
    # A /30 per fixture, chosen from the pid so that runs at once do not share one.
    block = (os.getpid() * 8 + next(_COUNTER)) % (1 << 15)
    server, client = str(_BASE + block * 4 + 1), str(_BASE + block * 4 + 2)
    if is_this_host(server):
        _unavailable(f"{server} is already an address of this host")
    name, here, there = f"sbns{tag}", f"sbh{tag}", f"sbc{tag}"
    try:
        _ip("netns", "add", name)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        _unavailable(f"ip netns add failed: {getattr(exc, 'stderr', b'') or exc}")
    try:
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", name)
        _ip("addr", "add", f"{server}/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", name, "addr", "add", f"{client}/30", "dev", there)
        _ip("-n", name, "link", "set", there, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield Netns(name, server, client)
    finally:
        # Removes the namespace's end of the veth, and with it this host's end.
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, env={"PATH": SYSTEM_PATH})
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=10, env={"PATH": SYSTEM_PATH})


@pytest.fixture
def netns() -> Iterator[Netns]:
    with client_netns() as created:
        yield created
