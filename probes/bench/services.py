"""Services the probes need, started on a free loopback port: memcached (later PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass

from .ports import free_port
from .supervisor import Child, Supervisor


class ServiceUnavailable(RuntimeError):
    """A service's binary is not installed here."""


@dataclass(frozen=True)
class Memcached:
    host: str
    port: int
    child: Child | None  # None when the user's own memcached is used

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def memcached_answers(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """True when a memcached at host:port answers the `version` command."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"version\r\n")
            return sock.recv(64).startswith(b"VERSION ")
    except OSError:
        return False


def start_memcached(supervisor: Supervisor, *, memory_mb: int = 64, timeout_s: float = 10.0) -> Memcached:
    """Start a private memcached on 127.0.0.1 and wait until it answers."""
    binary = shutil.which("memcached")
    if binary is None:
        raise ServiceUnavailable("memcached is not installed (Debian: apt-get install memcached)")
    port = free_port()
    argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", str(memory_mb), "-t", "1"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]  # memcached refuses to run as root without -u
    child = supervisor.spawn(f"memcached-{port}", argv)
    child.wait_ready(lambda: memcached_answers("127.0.0.1", port), timeout_s=timeout_s)
    return Memcached("127.0.0.1", port, child)


def parse_address(address: str) -> tuple[str, int]:
    """HOST:PORT -> (host, port); ValueError with a readable message."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, not {address!r}")
    return host.strip("[]"), int(port)
