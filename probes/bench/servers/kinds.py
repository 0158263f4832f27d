"""Every server kind, described once: how it starts, what it speaks, its processes, what its log
warnings look like, which frames of a profile are its own, which packages it is, how it runs requests.

Adding a server is adding one ServerKind to KINDS (its command line goes in servers/argv.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..contract import ASGI_NULL_APP, NULL_APP
from .argv import (
    flup_argv,
    granian_argv,
    gunicorn_argv,
    has_module,
    master_plus_workers,
    modern,
    one_process,
    uvicorn_argv,
    uvicorn_processes,
    uwsgi_argv,
    uwsgi_missing,
    waitress_argv,
)


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens: TCP on loopback or a unix socket in the run directory."""

    protocol: str  # "http", "uwsgi" or "fastcgi"
    host: str = "127.0.0.1"
    port: int | None = None
    unix_path: str | None = None

    @property
    def nginx_address(self) -> str:
        return f"unix:{self.unix_path}" if self.unix_path else f"{self.host}:{self.port}"

    @property
    def bind(self) -> str:
        return self.unix_path if self.unix_path else f"{self.host}:{self.port}"


def parse_address(address: str) -> tuple[str, int]:
    """HOST:PORT -> (host, port); ValueError with a readable message."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, not {address!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class ServerConfig:
    """One configuration of the matrix."""

    kind: str
    workers: int
    threads: int = 1
    front: str = "direct"  # "nginx" or "direct"
    socket: str = "tcp"  # between nginx and the server: "tcp" or "unix"
    app: str = "project"  # "project" (the project's WSGI app) or "null" (the server's floor)

    def describe(self) -> dict[str, object]:
        """The fields every result of this configuration repeats (Run, Check)."""
        return {
            "label": self.label,
            "kind": self.kind,
            "workers": self.workers,
            "threads": self.threads,
            "front": self.front,
            "socket": self.socket,
            "app": self.app,
        }

    @property
    def label(self) -> str:
        threads = f"x{self.threads}t" if self.threads > 1 else ""
        front = f"nginx/{self.socket}" if self.front == "nginx" else "direct"
        app = " null-app" if self.app == "null" else ""
        return f"{self.kind} w{self.workers}{threads} {front}{app}"


@dataclass(frozen=True)
class ServerKind:
    """Everything servebench knows of one kind of server."""

    name: str
    summary: str
    workers_are: str  # "processes" or "threads"
    direct_protocol: str | None  # None: no HTTP of its own (FastCGI), nginx only
    upstream_protocol: str  # what it speaks behind nginx
    build_argv: Callable[[ServerConfig, Endpoint, int], list[str]]
    expected_processes: Callable[[ServerConfig], int]
    missing: Callable[[], str | None]  # why it cannot run here, or None
    distributions: tuple[str, ...] = ()  # whose versions a result records (importlib.metadata names)
    # Lines of its log that change how a result must be read (workers killed, queues overflowing).
    log_warnings: tuple[re.Pattern[str], ...] = ()
    # Substrings of a profiled frame's file that make the frame the server's own.
    profile_paths: tuple[str, ...] = ()
    threads_apply: bool = False  # --threads gives each worker process that many threads
    interface: str = "wsgi"  # "wsgi" (probes.worker.wsgi) or "asgi" (probes.worker.asgi)
    # Serves many requests at once inside one worker process (an event loop, greenlets):
    # a waiting view does not hold the worker.
    concurrent_in_worker: bool = False
    # Its requests overlap only where the code yields to it (gevent's monkey-patching): a database
    # driver that does not (SQLite, psycopg 3) blocks every request of the worker while it waits.
    blocking_driver_blocks_worker: bool = False
    # Calls close() on a list body, as PEP 3333 says (granian 2.x does not). The timing wrapper
    # is told this and concurrent_in_worker once per worker (contract.KIND_ENV).
    closes_list_bodies: bool = True
    # The kind the others are compared with when a sweep measured several (the most common choice).
    baseline: bool = False
    explained: bool = False  # among the kinds --explain's focused sweep runs by default

    def protocol(self, front: str) -> str | None:
        return self.upstream_protocol if front == "nginx" else self.direct_protocol

    @property
    def null_app(self) -> str:
        """The null app in this kind's interface."""
        return ASGI_NULL_APP if self.interface == "asgi" else NULL_APP


GUNICORN_WARNINGS = (
    re.compile(r".*was sent SIGKILL.*"),  # "Perhaps out of memory?"
    re.compile(r".*Worker failed to boot.*"),
    re.compile(r".*WORKER TIMEOUT.*"),
)
UWSGI_WARNINGS = (
    re.compile(r".*listen queue.*full.*", re.IGNORECASE),  # the backlog overflowed
    # A worker's death: "... died, killed by signal 9", or "... MISTERIOUSLY killed by signal 9".
    re.compile(r".*DAMN ! worker.*(died|killed).*"),
)

KINDS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind(
            "gunicorn",
            "gunicorn, sync workers",
            "processes",
            "http",
            "http",
            gunicorn_argv("sync"),
            master_plus_workers,
            has_module("gunicorn"),
            distributions=("gunicorn",),
            log_warnings=GUNICORN_WARNINGS,
            profile_paths=("/gunicorn/",),
            baseline=True,
            explained=True,
        ),
        ServerKind(
            "gunicorn-gthread",
            "gunicorn, gthread workers",
            "processes",
            "http",
            "http",
            gunicorn_argv("gthread"),
            master_plus_workers,
            has_module("gunicorn"),
            distributions=("gunicorn",),
            log_warnings=GUNICORN_WARNINGS,
            profile_paths=("/gunicorn/",),
            threads_apply=True,
        ),
        ServerKind(
            "uwsgi",
            "uWSGI (pyuwsgi), master + processes",
            "processes",
            "http",
            "uwsgi",
            uwsgi_argv,
            master_plus_workers,
            uwsgi_missing,
            distributions=("pyuwsgi",),
            log_warnings=UWSGI_WARNINGS,
            profile_paths=("/pyuwsgi", "/uwsgidecorators"),
            explained=True,
        ),
        ServerKind(
            "flup-threaded",
            "flup FastCGI, threads of one process (N kept ready, more under load)",
            "threads",
            None,
            "fastcgi",
            flup_argv("threaded"),
            one_process,
            has_module("flup"),
            distributions=("flup",),
            profile_paths=("/flup/",),
        ),
        ServerKind(
            "flup-prefork",
            "flup FastCGI, prefork processes",
            "processes",
            None,
            "fastcgi",
            flup_argv("prefork"),
            master_plus_workers,
            has_module("flup"),
            distributions=("flup",),
            profile_paths=("/flup/",),
        ),
        ServerKind(
            "waitress",
            "waitress, threads of one process (pure Python)",
            "threads",
            "http",
            "http",
            waitress_argv,
            one_process,
            modern("waitress"),
            distributions=("waitress",),
            profile_paths=("/waitress/",),
        ),
        ServerKind(
            "gunicorn-gevent",
            "gunicorn, gevent workers (greenlets; monkey-patched: a blocking database driver blocks them all)",
            "processes",
            "http",
            "http",
            gunicorn_argv("gevent"),
            master_plus_workers,
            modern("gunicorn", "gevent"),
            distributions=("gunicorn", "gevent"),
            log_warnings=GUNICORN_WARNINGS,
            profile_paths=("/gunicorn/",),
            concurrent_in_worker=True,
            blocking_driver_blocks_worker=True,
        ),
        ServerKind(
            "granian",
            "granian (Rust HTTP), WSGI: processes x threads",
            "processes",
            "http",
            "http",
            granian_argv("wsgi"),
            master_plus_workers,
            modern("granian"),
            distributions=("granian",),
            profile_paths=("/granian/",),
            threads_apply=True,
            closes_list_bodies=False,
        ),
        ServerKind(
            "uvicorn",
            "uvicorn, ASGI (the project's asgi.py): processes, one event loop each",
            "processes",
            "http",
            "http",
            uvicorn_argv,
            uvicorn_processes,
            modern("uvicorn"),
            # uvicorn runs on uvloop and parses with httptools when they are installed.
            distributions=("uvicorn", "uvloop", "httptools"),
            profile_paths=("/uvicorn/",),
            interface="asgi",
            concurrent_in_worker=True,
        ),
        ServerKind(
            "granian-asgi",
            "granian (Rust HTTP), ASGI: processes, one event loop each",
            "processes",
            "http",
            "http",
            granian_argv("asgi"),
            master_plus_workers,
            modern("granian"),
            distributions=("granian",),
            profile_paths=("/granian/",),
            interface="asgi",
            concurrent_in_worker=True,
        ),
    )
}


def get_kind(name: str) -> ServerKind:
    """The server kind called `name`; LookupError naming the known ones otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown server {name!r} (known: {', '.join(KINDS)})") from None


def baseline_kind() -> str:
    """The name of the kind the others are compared with."""
    return next(kind.name for kind in KINDS.values() if kind.baseline)


def build_matrix(
    *, kinds: list[str], workers: list[int], fronts: list[str], sockets: list[str], threads: int = 1
) -> list[ServerConfig]:
    """Every combination that can exist, in a stable order (FastCGI only behind nginx)."""
    configs = []
    for name in kinds:
        kind = get_kind(name)
        kind_threads = threads if kind.threads_apply else 1
        for front in fronts:
            if kind.protocol(front) is None:
                continue
            for socket in sockets if front == "nginx" else ["tcp"]:
                for count in workers:
                    configs.append(ServerConfig(name, count, kind_threads, front, socket))
    return configs
