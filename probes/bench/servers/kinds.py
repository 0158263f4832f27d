"""One spec per server kind: the argv for N workers, the protocols it speaks, its process count.

Adding a server is adding one ServerKind to KINDS.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..contract import ASGI_ENTRY_APP, ASGI_NULL_APP, ENTRY_APP, FLUP_LAUNCHER, NULL_APP

DEFAULT_BACKLOG = 1024


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
    name: str
    summary: str
    workers_are: str  # "processes" or "threads"
    direct_protocol: str | None  # None: no HTTP of its own (FastCGI), nginx only
    upstream_protocol: str  # what it speaks behind nginx
    build_argv: Callable[[ServerConfig, Endpoint, int], list[str]]
    expected_processes: Callable[[ServerConfig], int]
    missing: Callable[[], str | None]  # why it cannot run here, or None
    threads_apply: bool = False  # --threads gives each worker process that many threads
    interface: str = "wsgi"  # "wsgi" (probes.worker.wsgi) or "asgi" (probes.worker.asgi)
    # Serves many requests at once inside one worker process (an event loop, greenlets):
    # a waiting view does not hold the worker.
    concurrent_in_worker: bool = False
    # Calls close() on a list body, as PEP 3333 says (granian 2.x does not). The timing wrapper
    # is told this and concurrent_in_worker once per worker (contract.KIND_ENV).
    closes_list_bodies: bool = True

    def protocol(self, front: str) -> str | None:
        return self.upstream_protocol if front == "nginx" else self.direct_protocol

    @property
    def null_app(self) -> str:
        """The null app in this kind's interface."""
        return ASGI_NULL_APP if self.interface == "asgi" else NULL_APP


def _python() -> str:
    return sys.executable


def _has_module(name: str, *more: str, hint: str = "") -> Callable[[], str | None]:
    def check() -> str | None:
        import importlib.util

        for module in (name, *more):
            if not importlib.util.find_spec(module):
                return f"python package {module!r} is not installed{hint}"
        return None

    return check


def _modern(name: str, *more: str) -> Callable[[], str | None]:
    """A server of the `modern` extra (pyproject.toml): missing, its kind is skipped with the reason."""
    return _has_module(name, *more, hint=" (pip install 'django-servebench[modern]')")


def uwsgi_binary() -> str | None:
    """The `uwsgi` console script of the pyuwsgi wheel (python -m pyuwsgi does not work)."""
    beside = Path(sys.executable).parent / "uwsgi"
    return str(beside) if beside.exists() else shutil.which("uwsgi")


def _gunicorn_has_control_socket() -> bool:
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return False
    return any(setting.name == "control_socket" for setting in KNOWN_SETTINGS)


def _gunicorn_argv(worker_class: str) -> Callable[[ServerConfig, Endpoint, int], list[str]]:
    def build(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
        bind = f"unix:{endpoint.unix_path}" if endpoint.unix_path else endpoint.bind
        argv = [_python(), "-m", "gunicorn", "--workers", str(config.workers), "--bind", bind]
        argv += ["--backlog", str(backlog), "--worker-class", worker_class, "--log-level", "warning"]
        argv += ["--error-logfile", "-", "--graceful-timeout", "3", "--timeout", "120"]
        if worker_class == "gthread":
            argv += ["--threads", str(config.threads)]
        if _gunicorn_has_control_socket():
            argv.append("--no-control-socket")  # gunicorn >= 24 would write ~/.gunicorn/
        return [*argv, ENTRY_APP]

    return build


def _uwsgi_argv(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
    module, _, callable_ = ENTRY_APP.partition(":")
    argv = [uwsgi_binary() or "uwsgi", "--master", "--processes", str(config.workers)]
    argv += ["--die-on-term", "--need-app", "--disable-logging", "--listen", str(backlog)]
    argv += ["--module", module, "--callable", callable_, "--single-interpreter", "--vacuum"]
    if endpoint.protocol == "http":
        # HTTP/1.1 with keep-alive on the worker's own socket: no router process.
        argv += ["--http11-socket", endpoint.bind]
    else:
        argv += ["--socket", endpoint.bind]
    if config.threads > 1:
        argv += ["--threads", str(config.threads)]
    return argv


def _flup_argv(mode: str) -> Callable[[ServerConfig, Endpoint, int], list[str]]:
    def build(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
        where = ["--unix", endpoint.unix_path] if endpoint.unix_path else ["--tcp", endpoint.bind]
        return [
            _python(),
            "-m",
            FLUP_LAUNCHER,
            "--mode",
            mode,
            "--workers",
            str(config.workers),
            *where,
            "--backlog",
            str(backlog),
            ENTRY_APP,
        ]

    return build


def _waitress_argv(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
    # Waitress's workers are the threads of its one process.
    if endpoint.unix_path:
        where = ["--unix-socket", endpoint.unix_path, "--unix-socket-perms", "600"]
    else:
        where = ["--listen", endpoint.bind]
    # connection-limit: waitress stops accepting above 100 connections by default, well below the backlog.
    argv = [_python(), "-m", "waitress", "--threads", str(config.workers), *where, "--backlog", str(backlog)]
    return [*argv, "--connection-limit", str(max(100, backlog)), ENTRY_APP]


def _granian_argv(interface: str) -> Callable[[ServerConfig, Endpoint, int], list[str]]:
    def build(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
        if endpoint.unix_path:
            where = ["--uds", endpoint.unix_path, "--uds-permissions", "0o600"]
        else:
            where = ["--host", endpoint.host, "--port", str(endpoint.port)]
        argv = [_python(), "-m", "granian", "--interface", interface, "--workers", str(config.workers), *where]
        # Granian refuses a backlog below 128.
        argv += ["--backlog", str(max(128, backlog)), "--no-ws", "--log-level", "warning", "--no-access-log"]
        if interface == "wsgi":
            # The Python threads of each worker that run the WSGI app.
            argv += ["--blocking-threads", str(config.threads)]
        return [*argv, ENTRY_APP if interface == "wsgi" else ASGI_ENTRY_APP]

    return build


def _uvicorn_argv(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
    where = (
        ["--uds", endpoint.unix_path] if endpoint.unix_path else ["--host", endpoint.host, "--port", str(endpoint.port)]
    )
    argv = [_python(), "-m", "uvicorn", "--interface", "asgi3", "--workers", str(config.workers), *where]
    argv += ["--backlog", str(backlog), "--no-access-log", "--log-level", "warning"]
    # probes.worker.asgi answers the lifespan itself (Django's ASGIHandler refuses it).
    argv += ["--lifespan", "on", "--timeout-graceful-shutdown", "3", "--no-server-header"]
    return [*argv, ASGI_ENTRY_APP]


def _uvicorn_processes(config: ServerConfig) -> int:
    # One worker runs in the process uvicorn started; more are spawned by a supervisor
    # (multiprocessing's spawn context), which starts multiprocessing's resource tracker too.
    return 1 if config.workers == 1 else 2 + config.workers


def _master_plus_workers(config: ServerConfig) -> int:
    return 1 + config.workers


def _one_process(config: ServerConfig) -> int:
    return 1


def _uwsgi_missing() -> str | None:
    return None if uwsgi_binary() else "the uwsgi script of the pyuwsgi wheel is not installed"


KINDS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind(
            "gunicorn",
            "gunicorn, sync workers",
            "processes",
            "http",
            "http",
            _gunicorn_argv("sync"),
            _master_plus_workers,
            _has_module("gunicorn"),
        ),
        ServerKind(
            "gunicorn-gthread",
            "gunicorn, gthread workers",
            "processes",
            "http",
            "http",
            _gunicorn_argv("gthread"),
            _master_plus_workers,
            _has_module("gunicorn"),
            threads_apply=True,
        ),
        ServerKind(
            "uwsgi",
            "uWSGI (pyuwsgi), master + processes",
            "processes",
            "http",
            "uwsgi",
            _uwsgi_argv,
            _master_plus_workers,
            _uwsgi_missing,
        ),
        ServerKind(
            "flup-threaded",
            "flup FastCGI, threads of one process (N kept ready, more under load)",
            "threads",
            None,
            "fastcgi",
            _flup_argv("threaded"),
            _one_process,
            _has_module("flup"),
        ),
        ServerKind(
            "flup-prefork",
            "flup FastCGI, prefork processes",
            "processes",
            None,
            "fastcgi",
            _flup_argv("prefork"),
            _master_plus_workers,
            _has_module("flup"),
        ),
        ServerKind(
            "waitress",
            "waitress, threads of one process (pure Python)",
            "threads",
            "http",
            "http",
            _waitress_argv,
            _one_process,
            _modern("waitress"),
        ),
        ServerKind(
            "gunicorn-gevent",
            "gunicorn, gevent workers (greenlets; monkey-patched: a blocking database driver blocks them all)",
            "processes",
            "http",
            "http",
            _gunicorn_argv("gevent"),
            _master_plus_workers,
            _modern("gunicorn", "gevent"),
            concurrent_in_worker=True,
        ),
        ServerKind(
            "granian",
            "granian (Rust HTTP), WSGI: processes x threads",
            "processes",
            "http",
            "http",
            _granian_argv("wsgi"),
            _master_plus_workers,
            _modern("granian"),
            threads_apply=True,
            closes_list_bodies=False,
        ),
        ServerKind(
            "uvicorn",
            "uvicorn, ASGI (the project's asgi.py): processes, one event loop each",
            "processes",
            "http",
            "http",
            _uvicorn_argv,
            _uvicorn_processes,
            _modern("uvicorn"),
            interface="asgi",
            concurrent_in_worker=True,
        ),
        ServerKind(
            "granian-asgi",
            "granian (Rust HTTP), ASGI: processes, one event loop each",
            "processes",
            "http",
            "http",
            _granian_argv("asgi"),
            _master_plus_workers,
            _modern("granian"),
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


def somaxconn() -> int:
    """The kernel's cap on listen backlogs."""
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return 128


def listen_backlog(requested: int = DEFAULT_BACKLOG) -> int:
    """A backlog never above net.core.somaxconn (uWSGI refuses to start otherwise)."""
    return max(1, min(requested, somaxconn()))


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
