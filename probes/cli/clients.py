"""--client-netns, --client-host and --listen: the load from other hosts, checked before anything starts.

Refused (one line) unless every client host answers servebench's handshake, the front is nginx,
and the target is an address of this host that the client hosts reach (never theirs, never loopback).
"""

from __future__ import annotations

import os
import re
from argparse import ArgumentParser
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..bench.loadgen.hosts import ClientHost
from ..bench.loadgen.plan import LoadPlan
from ..bench.servers.kinds import ServerConfig
from ..job.remote import Unreachable, resolve_clients
from .inputs import Refused

_NETNS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
NETNS_DIR = "/run/netns"


def add_client_arguments(parser: ArgumentParser) -> None:
    """The options of load from other hosts."""
    parser.add_argument(
        "--client-netns",
        action="append",
        metavar="NAME",
        help="repeatable: run the load generator in this network namespace (a client host on this machine)",
    )
    parser.add_argument(
        "--listen",
        metavar="ADDR",
        help="with --client-netns: the address of this host nginx listens on for them (default: the one they route to)",
    )


def with_clients(options: Mapping[str, Any], load: LoadPlan | None, configs: Sequence[ServerConfig]) -> LoadPlan | None:
    """The load plan with its client hosts (None when the load is local); Refused for what cannot run."""
    names = options.get("client_netns") or []
    if not names:
        if options.get("listen") is not None:
            raise Refused("--listen goes with --client-netns: the load is local otherwise (loopback)")
        return load
    if load is None:
        raise Refused("--client-netns puts configurations under load: this job puts none under load")
    if direct := [config.label for config in configs if config.front != "nginx"]:
        raise Refused(f"--client-netns needs --front nginx (only nginx faces client hosts): {direct[0]} is direct")
    if len(set(names)) != len(names):
        raise Refused("--client-netns: a namespace named twice")
    clients = tuple(_netns(name) for name in names)
    if (load.concurrency or 8) < len(clients):
        raise Refused(f"--concurrency {load.concurrency} is fewer connections than {len(clients)} client hosts")
    try:
        # How the namespaces reach this host and whether their servebench answers: asked of them by the
        # job's side (it starts `ip` and the handshake), still before any server or load starts.
        remote = resolve_clients(clients, options.get("listen"))
    except Unreachable as exc:
        raise Refused(str(exc)) from None
    return replace(load, remote=remote)


def _netns(name: str) -> ClientHost:
    if not _NETNS_NAME.fullmatch(name):
        raise Refused(f"--client-netns {name!r}: not a namespace name (letters, digits, _ . -)")
    if os.geteuid() != 0:
        raise Refused("--client-netns needs root (ip netns exec)")
    if not os.path.exists(os.path.join(NETNS_DIR, name)):
        raise Refused(f"--client-netns {name}: no such namespace (ip netns add {name})")
    return ClientHost(kind="netns", name=name)
