"""How each server kind is started: its command line, its process count, what it needs installed.

The table that puts these together, one ServerKind per kind, is servers/kinds.py. Nothing here
starts a process: the cli reads this module through the table to plan a sweep.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..contract import ASGI_ENTRY_APP, ENTRY_APP, FASTCGI_LAUNCHER

if TYPE_CHECKING:
    from .kinds import Endpoint, ServerConfig

    BuildArgv = Callable[[ServerConfig, Endpoint, int], list[str]]

DEFAULT_BACKLOG = 1024
# Debian keeps nginx (and memcached, postgres) in /usr/sbin, often not on a user's PATH.
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
# nginx/common.conf.in's worker_connections: each proxied request holds two (the client's, the upstream's).
NGINX_WORKER_CONNECTIONS = 4096


def nginx_binary() -> str | None:
    """nginx's path (Debian keeps it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx", path=SYSTEM_PATH)


def somaxconn() -> int:
    """The kernel's cap on listen backlogs."""
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return 128


def listen_backlog(requested: int = DEFAULT_BACKLOG) -> int:
    """A backlog never above net.core.somaxconn (uWSGI refuses to start otherwise)."""
    return max(1, min(requested, somaxconn()))


def _python() -> str:
    return sys.executable


def has_module(name: str, *more: str, hint: str = "") -> Callable[[], str | None]:
    """A check that says which of the python packages is not installed, or None."""

    def check() -> str | None:
        for module in (name, *more):
            if not importlib.util.find_spec(module):
                return f"python package {module!r} is not installed{hint}"
        return None

    return check


def modern(name: str, *more: str) -> Callable[[], str | None]:
    """A server of the `modern` extra (pyproject.toml): missing, its kind is skipped with the reason."""
    return has_module(name, *more, hint=" (pip install 'django-servebench[modern]')")


def uwsgi_binary() -> str | None:
    """The `uwsgi` console script of the pyuwsgi wheel (python -m pyuwsgi does not work)."""
    beside = Path(sys.executable).parent / "uwsgi"
    return str(beside) if beside.exists() else shutil.which("uwsgi")


def uwsgi_missing() -> str | None:
    """Why uWSGI cannot run here, or None."""
    return None if uwsgi_binary() else "the uwsgi script of the pyuwsgi wheel is not installed"


def _gunicorn_has_control_socket() -> bool:
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return False
    return any(setting.name == "control_socket" for setting in KNOWN_SETTINGS)


def gunicorn_argv(worker_class: str) -> BuildArgv:
    """gunicorn's command line with the given worker class."""

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


def uwsgi_argv(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
    """uWSGI's command line: a master and its processes."""
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


def flup_argv(mode: str) -> BuildArgv:
    """The command line of flup's FastCGI server (probes.worker.fastcgi) in the given mode (threaded or prefork)."""

    def build(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
        where = ["--unix", endpoint.unix_path] if endpoint.unix_path else ["--tcp", endpoint.bind]
        return [
            _python(),
            "-m",
            FASTCGI_LAUNCHER,
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


def waitress_argv(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
    """waitress's command line: its workers are the threads of its one process."""
    if endpoint.unix_path:
        where = ["--unix-socket", endpoint.unix_path, "--unix-socket-perms", "600"]
    else:
        where = ["--listen", endpoint.bind]
    # connection-limit: waitress stops accepting above 100 connections by default, well below the backlog.
    argv = [_python(), "-m", "waitress", "--threads", str(config.workers), *where, "--backlog", str(backlog)]
    return [*argv, "--connection-limit", str(max(100, backlog)), ENTRY_APP]


def granian_argv(interface: str) -> BuildArgv:
    """granian's command line for the given interface (wsgi or asgi)."""

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


def uvicorn_argv(config: ServerConfig, endpoint: Endpoint, backlog: int) -> list[str]:
    """uvicorn's command line: the project's ASGI application through probes.worker.asgi."""
    where = (
        ["--uds", endpoint.unix_path] if endpoint.unix_path else ["--host", endpoint.host, "--port", str(endpoint.port)]
    )
    argv = [_python(), "-m", "uvicorn", "--interface", "asgi3", "--workers", str(config.workers), *where]
    argv += ["--backlog", str(backlog), "--no-access-log", "--log-level", "warning"]
    # probes.worker.asgi answers the lifespan itself (Django's ASGIHandler refuses it).
    argv += ["--lifespan", "on", "--timeout-graceful-shutdown", "3", "--no-server-header"]
    return [*argv, ASGI_ENTRY_APP]


def uvicorn_processes(config: ServerConfig) -> int:
    """uvicorn's processes for a configuration."""
    # One worker runs in the process uvicorn started; more are spawned by a supervisor
    # (multiprocessing's spawn context), which starts multiprocessing's resource tracker too.
    return 1 if config.workers == 1 else 2 + config.workers


def master_plus_workers(config: ServerConfig) -> int:
    """A master process and one process per worker."""
    return 1 + config.workers


def one_process(config: ServerConfig) -> int:
    """One process, whatever the workers (they are its threads)."""
    return 1


def nginx_open_files_limit(soft_limit: int) -> int:
    """The open files each nginx process may hold: worker_rlimit_nofile when the template sets it,
    else the RLIMIT_NOFILE it inherits from servebench (`soft_limit`)."""
    match = re.search(r"^\s*worker_rlimit_nofile\s+(\d+)\s*;", nginx_template("common.conf.in"), re.MULTILINE)
    return int(match.group(1)) if match else soft_limit


def nginx_template(name: str) -> str:
    """The text of one of the probes.nginx templates."""
    try:
        folder = resources.files("probes.nginx")
    except ModuleNotFoundError:
        # A checkout, not an installed wheel: the templates are in ../nginx.
        folder = resources.files("probes").joinpath("..", "nginx")
    return folder.joinpath(name).read_text()
