"""Which address of this host the client hosts load, and from which of theirs (remote.py's targets).

The loopback-only rule becomes: an address of this host (the kernel lets a socket bind it), never
loopback (a client host's loopback is its own), never a client host's own address.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import subprocess

from ..servers.argv import SYSTEM_PATH


class Unreachable(ValueError):
    """No address of this host the client host routes to, or a target that is not one."""


def is_this_host(address: str) -> bool:
    """True when address is assigned to an interface of this host (binding it succeeds)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


def check_target(address: str, clients: tuple[str, ...]) -> None:
    """Refuse, in one line, a target a client host must not load: the rule for --listen."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise Unreachable(f"--listen {address!r}: not an IP address (a name could resolve anywhere)") from None
    if address in clients:
        raise Unreachable(f"--listen {address}: that is the client host's own address, not this host's")
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
        raise Unreachable(f"--listen {address}: a client host cannot reach this host's loopback or that address")
    if not is_this_host(address):
        raise Unreachable(f"--listen {address}: not an address of this host; load only ever targets this host")


def _ip_json(argv: list[str]) -> list[dict[str, object]]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10, env={"PATH": SYSTEM_PATH})
    if done.returncode != 0:
        raise Unreachable(f"{' '.join(argv[:4])}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    return list(json.loads(done.stdout or "[]"))


def this_host_addresses() -> list[str]:
    """This host's non-loopback IPv4 addresses (ip -j addr)."""
    found = []
    for link in _ip_json(["ip", "-j", "-4", "addr", "show"]):
        for info in link.get("addr_info", []):  # type: ignore[attr-defined]
            if not ipaddress.ip_address(info["local"]).is_loopback:
                found.append(str(info["local"]))
    return found


def netns_route(name: str) -> tuple[str, str]:
    """(this host's address the namespace routes to directly, the namespace's source address for it)."""
    for address in this_host_addresses():
        try:
            routes = _ip_json(["ip", "-n", name, "-j", "route", "get", address])
        except Unreachable:
            continue  # no route from there
        route = routes[0] if routes else {}
        if route.get("gateway") is None and route.get("prefsrc"):
            return address, str(route["prefsrc"])
    raise Unreachable(f"--client-netns {name}: no address of this host is directly reachable from it (--listen)")


def netns_source(name: str, target: str) -> str:
    """The namespace's source address toward target (what nginx must allow)."""
    try:
        routes = _ip_json(["ip", "-n", name, "-j", "route", "get", target])
    except Unreachable as exc:
        raise Unreachable(f"--client-netns {name}: no route to {target} from it ({exc})") from None
    if not routes or not routes[0].get("prefsrc"):
        raise Unreachable(f"--client-netns {name}: no route to {target} from it")
    return str(routes[0]["prefsrc"])
