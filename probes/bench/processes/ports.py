"""The one port allocator: free TCP ports on the loopback interface."""

from __future__ import annotations

import errno
import socket

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class PortTaken(OSError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that nothing listens on right now (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int, host: str = "127.0.0.1") -> None:
    """Refuse a port that something already listens on (mirakuru's rule)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(f"port {port} on {host} is already in use") from None
            raise


def accepts_connections(host: str, port: int, *, timeout_s: float = 0.2) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
