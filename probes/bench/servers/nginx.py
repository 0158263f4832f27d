"""The front of a configuration: nginx (rendered from the probes.nginx templates) or direct."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..processes.child import Child
from ..processes.supervisor import Supervisor
from .argv import NGINX_WORKER_CONNECTIONS, nginx_binary, nginx_template
from .kinds import Endpoint

_PLACEHOLDER = re.compile(r"@([a-z_]+)@")


class FrontUnavailable(RuntimeError):
    """nginx is not installed or lacks what the configuration needs."""


def nginx_version() -> str | None:
    """nginx's version string, e.g. '1.22.1'."""
    binary = nginx_binary()
    if binary is None:
        return None
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10).stderr
    match = re.search(r"nginx/(\S+)", out)
    return match.group(1) if match else None


def render_nginx_config(
    *, upstream: Endpoint, port: int, run_dir: Path, backlog: int, workers: int = 1, expose: Exposure | None = None
) -> str:
    """nginx.conf text for one front: listen on 127.0.0.1:port (and expose's address), pass to `upstream`."""
    location = "\n".join(
        f"            {line}"
        for line in nginx_template(f"{upstream.protocol}.conf").splitlines()
        if line.strip() and not line.startswith("#")
    )
    values = {
        "workers": str(workers),
        "worker_connections": str(NGINX_WORKER_CONNECTIONS),
        "run_dir": str(run_dir),
        # As root, nginx's workers would run as nobody and could not reach the
        # 0700 run directory (unix sockets, temp paths): keep them as root.
        "user": "user root;" if os.geteuid() == 0 else "",
        "upstream": upstream.nginx_address,
        "port": str(port),
        "backlog": str(backlog),
        "location": location,
        "remote": _exposed(expose, port, backlog),
    }

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, nginx_template("common.conf.in"))


def _exposed(expose: Exposure | None, port: int, backlog: int) -> str:
    """The client hosts' way in: nginx's port on this host's address, for their addresses only."""
    if expose is None:
        return ""
    lines = [f"listen {expose.listen}:{port} backlog={backlog};", "allow 127.0.0.1;"]
    lines += [f"allow {address};" for address in expose.allowed] + ["deny all;"]
    return "".join(f"\n        {line}" for line in lines)


@dataclass(frozen=True)
class Exposure:
    """--client-netns/--client-host: the address of this host the client hosts load, and theirs (only they
    get in; the servers stay on loopback or unix sockets behind nginx, for the run's length only)."""

    listen: str
    allowed: tuple[str, ...]


def start_nginx(
    supervisor: Supervisor,
    *,
    upstream: Endpoint,
    port: int,
    run_dir: Path,
    backlog: int,
    workers: int = 1,
    expose: Exposure | None = None,
) -> Child:
    """Write the config into run_dir and start nginx in the foreground (daemon off)."""
    binary = nginx_binary()
    if binary is None:
        raise FrontUnavailable("nginx is not installed (Debian: apt-get install nginx)")
    conf = run_dir / f"nginx-{port}.conf"
    conf.write_text(
        render_nginx_config(
            upstream=upstream, port=port, run_dir=run_dir, backlog=backlog, workers=workers, expose=expose
        )
    )
    # -e: the error log before the config is read goes to the run dir too, not /var/log.
    argv = [binary, "-c", str(conf), "-p", str(run_dir), "-e", str(run_dir / "nginx-error.log")]
    return supervisor.spawn(f"nginx-{port}", argv)
