"""Where each locust worker servebench starts runs: this host, a namespace, or a client host over ssh.

A description and the command lines; driver.py starts them. A namespace shares this host's files, so its
worker loads the driver's own copies; a client host over ssh gets them on stdin (worker.py there).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..hosts import ClientHost, Remote
from ..model import LoadSpec
from ..remote import ssh_argv
from .setup import LocustSetup

WORKER_MODULE = "probes.bench.loadgen.locust.worker"


@dataclass(frozen=True)
class Placement:
    """Where the master listens and where each worker servebench starts runs (None: this host)."""

    bind: str
    target: str
    workers: tuple[ClientHost | None, ...]

    @property
    def total(self) -> int:
        return len(self.workers)

    def describe(self) -> str:
        here = sum(1 for where in self.workers if where is None)
        parts = [f"{here} on this host (they share the server's cores)"] if here else []
        hosts = list(dict.fromkeys(where for where in self.workers if where is not None))
        parts += [f"{self.workers.count(host)} on {host.label}" for host in hosts]
        return f"locust: {self.total} worker(s), " + ", ".join(parts)


def placement(spec: LoadSpec, setup: LocustSetup, remote: Remote | None) -> Placement:
    """Local workers beside a loopback master, or workers per client host beside a master bound to the
    address they route to (never every interface)."""
    if remote is None:
        return Placement("127.0.0.1", spec.connect_host, (None,) * setup.workers)
    hosts = tuple(client for client in remote.clients for _ in range(setup.workers))
    return Placement(remote.listen, remote.listen, hosts)


def worker_argv(where: ClientHost | None, locust_argv: list[str], master: tuple[str, int], limit_s: int) -> list[str]:
    """The worker's command: locust itself here or in a namespace (under `timeout` there), worker.py over ssh
    (under `timeout` on the client host; it ends too when the ssh session closes)."""
    limit = ["timeout", "-k", "2", str(limit_s)]
    worker = [*locust_argv, "--worker", "--master-host", master[0], "--master-port", str(master[1])]
    if where is None:
        return worker
    if where.kind == "netns":
        return ["ip", "netns", "exec", where.name, *limit, *worker]
    python = list(where.python or ("python3",))
    address = ["--master-host", master[0], "--master-port", str(master[1])]
    return [*ssh_argv(where), *limit, *python, "-m", WORKER_MODULE, *address]


def bundle(files: str, report_s: float) -> str:
    """What worker.py reads on a client host's stdin: the plugin, the users and the headers, by name."""
    paths = [Path(p) for p in files.split(",")]
    headers = paths[0].with_name("headers.json")
    if headers.exists():
        paths.append(headers)
    return json.dumps({"files": {p.name: p.read_text(encoding="utf-8") for p in paths}, "report_s": report_s})


def locust_command(files: str) -> list[str]:
    """locust with servebench's plugin and the users, from this host's interpreter."""
    return [sys.executable, "-m", "locust", "-f", files, "--loglevel", "WARNING"]
