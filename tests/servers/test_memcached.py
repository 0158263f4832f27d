"""servebench's own memcached: a unix socket in the 0700 run directory that other users cannot reach."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.core.cache import caches

from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.memcached import Memcached, memcached_answers_on, start_memcached
from tests.conftest import as_other_user, require_binary

CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b"version\\r\\n")
    print("connected", s.recv(64))
except OSError as exc:
    print("refused", exc.errno)
"""


@pytest.fixture
def unix_memcached(supervisor: Supervisor) -> Memcached:
    require_binary("memcached")
    return start_memcached(supervisor)


@pytest.mark.servers
def test_it_listens_on_a_private_socket_only(unix_memcached: Memcached, run_dir: Path) -> None:
    path = unix_memcached.unix_socket
    assert path is not None
    # The run directory, or, under a TMPDIR too deep for a socket, a private one named after it.
    assert path.parent == run_dir or path.parent.name.startswith(f"{run_dir.name}-sockets-")
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert unix_memcached.address == f"unix:{path}"
    assert stat.S_ISSOCK(path.stat().st_mode) and path.stat().st_mode & 0o777 == 0o600
    assert unix_memcached.child is not None
    assert psutil.Process(unix_memcached.child.pid).net_connections(kind="inet") == []  # no TCP, no UDP


@pytest.mark.servers
def test_another_user_cannot_connect(unix_memcached: Memcached) -> None:
    done = as_other_user(["python3", "-c", CONNECT, str(unix_memcached.unix_socket)])
    assert done.stdout.startswith("refused 13"), done.stdout + done.stderr  # EACCES


@pytest.mark.servers
def test_django_uses_the_address_as_its_location(unix_memcached: Memcached, settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "unix": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": unix_memcached.address},
    }
    caches["unix"].set("k", {"v": 1})
    assert caches["unix"].get("k") == {"v": 1}
    caches["unix"].close()


@pytest.mark.servers
def test_tcp_only_when_asked(supervisor: Supervisor) -> None:
    require_binary("memcached")
    tcp = start_memcached(supervisor, transport="tcp")
    assert tcp.unix_socket is None and tcp.address == f"127.0.0.1:{tcp.port}"
    with pytest.raises(ValueError, match="unix or tcp"):
        start_memcached(supervisor, transport="udp")


@pytest.mark.servers
def test_a_run_directory_too_deep_for_a_socket_still_gets_a_private_one(tmp_path: Path) -> None:
    require_binary("memcached")
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    with RunDir(parent=deep) as run_dir, Supervisor(run_dir.path) as supervisor:
        cache = start_memcached(supervisor)
        assert cache.unix_socket is not None and len(os.fsencode(cache.unix_socket)) <= 107
        assert cache.unix_socket.parent.stat().st_mode & 0o777 == 0o700
        assert memcached_answers_on(cache.unix_socket)
    assert not cache.unix_socket.parent.exists()
