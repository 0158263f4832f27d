"""The project's own cache servers on this machine (a memcached or Redis in CACHES), found as the client
connects: their CPU is the project's, never "another process" (issue 20).

A memcached found is the `memcached` role (when servebench did not start one itself); any other cache
server, or one not found, is recorded as unattributed with how the project reaches it, so that the CPU
it takes is said to be the cache's, not another process's, and no window is set aside for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..cli.backends import cache_locations, location_problem
from .database_server import Endpoint, listener

# Backends whose servers are processes of their own (by the end of their dotted path), with their port.
_SERVERS = {"memcached": 11211, "redis": 6379}


@dataclass(frozen=True)
class CacheServer:
    """A cache server of the project on this machine: what it is, its pid (None: not found), how it is reached."""

    kind: str  # memcached or redis
    pid: int | None
    how: str


def _kind(backend: str) -> str | None:
    name = backend.lower()
    return next((kind for kind in _SERVERS if kind in name), None)


def _endpoint(location: str, kind: str) -> Endpoint | None:
    """Where one LOCATION item is served on this machine; None for a remote one or one not read."""
    if location_problem(location) is not None:
        return None
    if location.startswith("/"):
        return Endpoint(socket=location)
    if location.startswith("unix:") and not location.startswith("unix://"):
        return Endpoint(socket=location[len("unix:") :])
    parts = urlsplit(location if "://" in location else f"//{location}")
    if parts.scheme in ("unix", "file"):
        return Endpoint(socket=parts.path)
    try:
        port = parts.port
    except ValueError:
        return None
    return Endpoint(port=port or _SERVERS[kind])


def cache_servers(caches: Mapping[str, Mapping[str, Any]], *, skip: str | None = None) -> list[CacheServer]:
    """The local memcached/Redis servers of CACHES (the alias `skip` is servebench's own memcached)."""
    found: dict[tuple[str, str], CacheServer] = {}
    for alias, cache in caches.items():
        kind = _kind(str(cache.get("BACKEND") or ""))
        if alias == skip or kind is None:
            continue
        for location in cache_locations(cache.get("LOCATION")):
            if (where := _endpoint(location, kind)) is not None:
                found.setdefault((kind, where.how), CacheServer(kind, listener(where), f"{kind} at {where.how}"))
    return list(found.values())


def cache_roles(servers: list[CacheServer], *, memcached_started: bool) -> tuple[dict[str, int], dict[str, str]]:
    """(role -> pid, role -> how it is reached): a found memcached is the `memcached` role unless servebench
    runs its own; every other server is `cache`, unattributed, with how the project reaches it."""
    pids: dict[str, int] = {}
    unattributed: dict[str, str] = {}
    for server in servers:
        if server.kind == "memcached" and server.pid is not None and not memcached_started and "memcached" not in pids:
            pids["memcached"] = server.pid
        else:  # no role of its own in the split (yet): its CPU stays unattributed, and is said to be the cache's
            unattributed["cache"] = "; ".join(filter(None, (unattributed.get("cache"), server.how)))
    return pids, unattributed
