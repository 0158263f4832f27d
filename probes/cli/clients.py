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

from ..bench.loadgen.hosts import ClientHost, Remote
from ..bench.loadgen.plan import LoadPlan
from ..bench.servers.kinds import ServerConfig
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
        "--client-host",
        action="append",
        metavar="USER@HOST[:PORT]",
        help="repeatable: run the load generator there over ssh (your ssh config and agent; servebench there)",
    )
    parser.add_argument(
        "--client-python",
        metavar="PATH",
        help="with --client-host: the interpreter servebench is installed for there, e.g. a venv's (python3)",
    )
    parser.add_argument(
        "--client-ssh-config", metavar="PATH", help="with --client-host: an ssh config file instead of your own"
    )
    parser.add_argument(
        "--listen",
        metavar="ADDR",
        help="with --client-netns: the address of this host nginx listens on for them (default: the one they route to)",
    )


def with_clients(options: Mapping[str, Any], load: LoadPlan | None, configs: Sequence[ServerConfig]) -> LoadPlan | None:
    """The load plan with its client hosts (None when the load is local); Refused for what cannot run."""
    names, hosts = options.get("client_netns") or [], options.get("client_host") or []
    if not names and not hosts:
        for option in ("listen", "client_ssh_config", "client_python"):
            if options.get(option) is not None:
                raise Refused(f"--{option.replace('_', '-')} goes with --client-netns or --client-host")
        return load
    if load is None:
        raise Refused("--client-netns and --client-host put configurations under load: this job puts none")
    if direct := [config.label for config in configs if config.front != "nginx"]:
        raise Refused(f"load from client hosts needs --front nginx (only nginx faces them): {direct[0]} is direct")
    if len(set(names)) != len(names) or len(set(hosts)) != len(hosts):
        raise Refused("--client-netns/--client-host: a client host named twice")
    config, python = _ssh_config(options.get("client_ssh_config")), _python(options.get("client_python"))
    clients = tuple(_netns(name) for name in names) + tuple(_ssh(text, config, python) for text in hosts)
    if (load.concurrency or 8) < len(clients):
        raise Refused(f"--concurrency {load.concurrency} is fewer connections than {len(clients)} client hosts")
    # Where the client hosts reach this host, and whether their servebench answers, is asked of them by
    # the job (job/remote.resolved: it starts `ip` and the handshake; the cli starts nothing), still before
    # any server or load starts. Until then the plan names them, with --listen if given.
    return replace(load, remote=Remote(clients=clients, listen=options.get("listen") or "", allowed=()))


_SSH_DEST = re.compile(
    r"(?:([A-Za-z_][A-Za-z0-9_.-]{0,31})@)?([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?"
)


_WORD = re.compile(r"[A-Za-z0-9_./+-]+")


def _python(path: str | None) -> tuple[str, ...]:
    """One word of a remote shell's command line: no space, quote or metacharacter gets through."""
    if path is None:
        return ()
    if not _WORD.fullmatch(path) or path.startswith("-"):
        raise Refused(f"--client-python {path!r}: a path of letters, digits and _ . / + - only")
    return (path,)


def _ssh(text: str, config: str | None, python: tuple[str, ...]) -> ClientHost:
    """user@host[:port]: never an option to ssh (a leading '-'), a port in range."""
    match = _SSH_DEST.fullmatch(text)
    if match is None:
        raise Refused(f"--client-host {text!r}: not user@host[:port]")
    user, host, port = match.groups()
    if port is not None and not 0 < int(port) < 65536:
        raise Refused(f"--client-host {text}: port {port} out of range")
    return ClientHost(
        kind="ssh",
        name=f"{user}@{host.strip('[]')}" if user else host.strip("[]"),
        port=int(port) if port else None,
        ssh_config=config,
        python=python,
    )


def _ssh_config(path: str | None) -> str | None:
    if path is None:
        return None
    if not os.path.isfile(path):
        raise Refused(f"--client-ssh-config {path}: no such file")
    return os.path.abspath(path)


def _netns(name: str) -> ClientHost:
    if not _NETNS_NAME.fullmatch(name):
        raise Refused(f"--client-netns {name!r}: not a namespace name (letters, digits, _ . -)")
    if os.geteuid() != 0:
        raise Refused("--client-netns needs root (ip netns exec)")
    if not os.path.exists(os.path.join(NETNS_DIR, name)):
        raise Refused(f"--client-netns {name}: no such namespace (ip netns add {name})")
    return ClientHost(kind="netns", name=name)
