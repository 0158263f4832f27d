"""A run with client hosts, on this host's side: where they reach it, their handshake, nginx's way in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..bench.loadgen.hosts import ClientHost, Remote
from ..bench.loadgen.plan import LoadPlan
from ..bench.loadgen.reach import Unreachable, check_target, netns_route, netns_source
from ..bench.loadgen.remote import close_masters, handshake
from ..bench.servers.nginx import Exposure

__all__ = ["Unreachable", "close_masters", "exposure", "in_run_dir", "resolve_clients", "resolved"]


def resolve_clients(clients: Sequence[ClientHost], listen: str | None) -> Remote:
    """The address of this host the client hosts load (--listen, or the one they route to) and theirs;
    Unreachable (one line) for a target that is not this host's, or a client host that does not answer."""
    seen: dict[ClientHost, tuple[str, str]] = {}  # (this host's address as it sees it, its own)
    for client in clients:
        answer = handshake(client)
        if answer.problem is not None:
            raise Unreachable(answer.problem)
        if client.kind == "ssh":
            if len(answer.ssh_connection) != 4:
                raise Unreachable(f"client host {client.label}: ssh did not say how it reaches this host (--listen)")
            seen[client] = (answer.ssh_connection[0], answer.ssh_connection[2])
    first = clients[0]
    listen = listen or (seen[first][0] if first.kind == "ssh" else netns_route(first.name)[0])
    try:
        allowed = tuple(
            seen[client][1] if client.kind == "ssh" else netns_source(client.name, listen) for client in clients
        )
    except Unreachable:
        check_target(listen, ())  # not this host's, or loopback: say that rather than "no route"
        raise
    check_target(listen, allowed)  # the client's own address is named as such
    return Remote(clients=tuple(clients), listen=listen, allowed=tuple(dict.fromkeys(allowed)))


def resolved(load: LoadPlan) -> LoadPlan:
    """The load plan with its client hosts resolved (resolve_clients), before any server or load starts;
    JobError in one line for a target that is not this host's or a client host that does not answer."""
    from .services import JobError

    if load.remote is None or load.remote.allowed:
        return load
    try:
        return replace(load, remote=resolve_clients(load.remote.clients, load.remote.listen or None))
    except Unreachable as exc:
        raise JobError(str(exc)) from None


def in_run_dir(load: LoadPlan, run_dir: Path) -> LoadPlan:
    """The load plan with ssh's ControlMaster sockets in the run's 0700 directory."""
    if load.remote is None:
        return load
    clients = tuple(replace(client, control_dir=str(run_dir)) for client in load.remote.clients)
    return replace(load, remote=replace(load.remote, clients=clients))


def exposure(load: LoadPlan | None) -> Exposure | None:
    """nginx's extra listen address and the client hosts' addresses it allows; None for local load."""
    if load is None or load.remote is None:
        return None
    return Exposure(listen=load.remote.listen, allowed=load.remote.allowed)
