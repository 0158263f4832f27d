"""memcached for the session-cache probes: started on a unix socket in the run directory (PostgreSQL: postgres.py)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from ..processes.child import Child, ServiceUnavailable
from ..processes.ports import free_port
from ..processes.supervisor import Supervisor


@dataclass(frozen=True)
class Memcached:
    host: str
    port: int
    child: Child | None  # None when the user's own memcached is used
    unix_socket: Path | None = None  # servebench's own: a socket in the 0700 run directory

    @property
    def address(self) -> str:
        """The location as Django's CACHES LOCATION takes it: unix:/path or host:port."""
        return f"unix:{self.unix_socket}" if self.unix_socket else f"{self.host}:{self.port}"

    @property
    def server(self) -> str | tuple[str, int]:
        """The server as a pymemcache Client takes it."""
        return str(self.unix_socket) if self.unix_socket else (self.host, self.port)


def memcached_answers(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """True when a memcached at host:port answers the `version` command."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            return _answers_version(sock)
    except OSError:
        return False


def memcached_answers_on(path: Path, *, timeout_s: float = 0.5) -> bool:
    """True when a memcached on the unix socket `path` answers the `version` command."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            return _answers_version(sock)
    except OSError:
        return False


def _answers_version(sock: socket.socket) -> bool:
    sock.sendall(b"version\r\n")
    return sock.recv(64).startswith(b"VERSION ")


def start_memcached(
    supervisor: Supervisor, *, memory_mb: int = 64, timeout_s: float = 10.0, transport: str = "unix"
) -> Memcached:
    """Start a private memcached and wait until it answers.

    transport="unix" (the default): a socket in the supervisor's 0700 run directory, mode
    0600, no TCP at all. memcached has no authentication here, and on a loopback port any
    local user could read every session in it (`lru_crawler metadump all`). transport="tcp":
    127.0.0.1 on a free port, only when asked for.
    """
    binary = shutil.which("memcached")
    if binary is None:
        raise ServiceUnavailable("memcached is not installed (Debian: apt-get install memcached)")
    common = ["-U", "0", "-m", str(memory_mb), "-t", "1"]
    if os.geteuid() == 0:
        common += ["-u", "root"]  # memcached refuses to run as root without -u
    if transport == "tcp":
        port = free_port()
        child = supervisor.spawn(f"memcached-{port}", [binary, "-l", "127.0.0.1", "-p", str(port), *common])
        child.wait_ready(lambda: memcached_answers("127.0.0.1", port), timeout_s=timeout_s)
        return Memcached("127.0.0.1", port, child)
    if transport != "unix":
        raise ValueError(f"memcached transport is unix or tcp, not {transport!r}")
    # In the run directory, or a short private one when its path is too long for a socket.
    path = supervisor.socket_path(f"memcached-{secrets.token_hex(4)}.sock")
    # -a 0600: the socket itself is private too, not only the directory it is in.
    child = supervisor.spawn(path.stem, [binary, "-s", str(path), "-a", "0600", *common])
    child.wait_ready(lambda: memcached_answers_on(path), timeout_s=timeout_s)
    return Memcached("", 0, child, unix_socket=path)
