"""The project's own cache servers on this machine, found as the client connects: a memcached is the
`memcached` role; any other, or one not found, is the cache's unattributed CPU, never another process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from probes.bench.judge.quality import shared_window
from probes.job.cache_server import CacheServer, cache_roles, cache_servers
from tests.factories import sample

MEMCACHED = "django.core.cache.backends.memcached.PyMemcacheCache"
REDIS = "django.core.cache.backends.redis.RedisCache"


def test_a_local_memcached_on_tcp_and_a_redis_on_a_unix_socket_are_found(tmp_path: Path) -> None:
    with socket.socket() as tcp, socket.socket(socket.AF_UNIX) as unix:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        port = tcp.getsockname()[1]
        path = str(tmp_path / "redis.sock")
        unix.bind(path)
        unix.listen()
        caches = {
            "default": {"BACKEND": MEMCACHED, "LOCATION": f"127.0.0.1:{port}"},
            "sessions": {"BACKEND": REDIS, "LOCATION": f"unix://{path}"},
            "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "far": {"BACKEND": MEMCACHED, "LOCATION": "203.0.113.7:11211"},
        }
        found = cache_servers(caches)
    assert found == [
        CacheServer("memcached", os.getpid(), f"memcached at TCP port {port}"),
        CacheServer("redis", os.getpid(), f"redis at unix socket {path}"),
    ]
    pids, unattributed = cache_roles(found, memcached_started=False)
    assert pids == {"memcached": os.getpid()}
    assert unattributed == {"cache": f"redis at unix socket {path}"}
    # servebench's own memcached holds the role: the project's is then the cache's, unattributed.
    pids, unattributed = cache_roles(found, memcached_started=True)
    assert pids == {} and unattributed["cache"].startswith("memcached at TCP port")


def test_servebenchs_own_alias_and_a_server_not_found() -> None:
    caches = {
        "default": {"BACKEND": MEMCACHED, "LOCATION": "127.0.0.1:1"},  # nothing listens on port 1
        "servebench": {"BACKEND": MEMCACHED, "LOCATION": "127.0.0.1:2"},
    }
    found = cache_servers(caches, skip="servebench")
    assert found == [CacheServer("memcached", None, "memcached at TCP port 1")]
    pids, unattributed = cache_roles(found, memcached_started=False)
    assert pids == {} and unattributed == {"cache": "memcached at TCP port 1"}
    # Its CPU, unattributed, is then no sign of another process: the window is not set aside.
    busy = sample(1000.0)
    busy = busy.__class__(**{**busy.__dict__, "machine_busy_s": 1.3 + 0.4 * 4})
    assert shared_window(busy)
    assert not shared_window(busy.__class__(**{**busy.__dict__, "unattributed_roles": unattributed}))
