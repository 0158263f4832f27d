"""A run with client hosts, on this host's side: where they reach it, their handshake, nginx's way in."""

from __future__ import annotations

from collections.abc import Sequence

from ..bench.loadgen.hosts import ClientHost, Remote
from ..bench.loadgen.plan import LoadPlan
from ..bench.loadgen.reach import Unreachable, check_target, netns_route, netns_source
from ..bench.loadgen.remote import handshake
from ..bench.servers.nginx import Exposure

__all__ = ["Unreachable", "exposure", "resolve_clients"]


def resolve_clients(clients: Sequence[ClientHost], listen: str | None) -> Remote:
    """The address of this host the client hosts load (--listen, or the one they route to) and theirs;
    Unreachable (one line) for a target that is not this host's, or a client host that does not answer."""
    names = [client.name for client in clients]
    listen = listen or netns_route(names[0])[0]
    check_target(listen, ())  # an address of this host, before asking the namespaces how they reach it
    allowed = tuple(netns_source(name, listen) for name in names)
    check_target(listen, allowed)
    for client in clients:
        if (problem := handshake(client)) is not None:
            raise Unreachable(problem)
    return Remote(clients=tuple(clients), listen=listen, allowed=allowed)


def exposure(load: LoadPlan | None) -> Exposure | None:
    """nginx's extra listen address and the client hosts' addresses it allows; None for local load."""
    if load is None or load.remote is None:
        return None
    return Exposure(listen=load.remote.listen, allowed=load.remote.allowed)
