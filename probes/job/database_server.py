"""The project's own database server on this machine, found where its driver connects, so its CPU is a role.

A local PostgreSQL is most often reached through its unix socket (HOST and PORT
empty: libpq's default directory, /var/run/postgresql on Debian), MySQL through
its socket when HOST is empty or "localhost". Looking only at TCP listeners on a
numeric PORT missed those, and their CPU (half the machine's, with CONN_MAX_AGE=0)
read as another process's. The endpoint is decided as the driver decides it
(HOST, then OPTIONS, then the driver's environment, then its default); the server
is the process listening there: a TCP listener, the process holding the unix
socket (/proc/net/unix gives its inode, /proc/<pid>/fd the holder), or the pid
PostgreSQL writes in the socket's lock file. When it cannot be found, `how` says
how the project connects, and the report says its CPU could not be attributed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from ..cli.backends import database_problem

# libpq's compiled-in socket directory: Debian's packages use /var/run/postgresql, the sources /tmp.
POSTGRES_SOCKET_DIRS = ("/var/run/postgresql", "/tmp")
# mysqlclient's (libmysqlclient's) default socket: Debian's, then the sources'.
MYSQL_SOCKETS = ("/var/run/mysqld/mysqld.sock", "/run/mysqld/mysqld.sock", "/tmp/mysql.sock")
POSTGRES_PORT, MYSQL_PORT = 5432, 3306
_SO_ACCEPTCON = 0x10000  # /proc/net/unix Flags: a listening socket


@dataclass(frozen=True)
class Endpoint:
    """Where the driver connects on this machine: a unix socket path, or a TCP port."""

    socket: str | None = None
    port: int | None = None

    @property
    def how(self) -> str:
        """'unix socket /var/run/postgresql/.s.PGSQL.5432' or 'TCP port 5432': how the project connects."""
        return f"unix socket {self.socket}" if self.socket is not None else f"TCP port {self.port}"


@dataclass(frozen=True)
class DatabaseServer:
    """The local database server: its pid (None: not found) and how the project connects to it."""

    pid: int | None
    how: str


def _port(value: object, default: int) -> int | None:
    text = str(value or "").strip()
    if not text:
        return default
    return int(text) if text.isdigit() else None


def _postgres(database: Mapping[str, Any], environ: Mapping[str, str]) -> Endpoint | str:
    options = dict(database.get("OPTIONS") or {})
    for key in ("service", "conninfo", "dsn"):
        if options.get(key):
            return f"OPTIONS {key}"
    if environ.get("PGSERVICE") and not (database.get("HOST") or options.get("host")):
        return "PGSERVICE"
    host = str(database.get("HOST") or options.get("host") or environ.get("PGHOST") or "").split(",")[0].strip()
    port = _port(database.get("PORT") or options.get("port") or environ.get("PGPORT"), POSTGRES_PORT)
    if port is None:
        return f"port {database.get('PORT') or options.get('port') or environ.get('PGPORT')!r}"
    if host and not host.startswith("/"):
        return Endpoint(port=port)
    directories = (host,) if host else POSTGRES_SOCKET_DIRS
    paths = [f"{directory.rstrip('/')}/.s.PGSQL.{port}" for directory in directories]
    return Endpoint(socket=next((path for path in paths if os.path.exists(path)), paths[0]))


def _mysql(database: Mapping[str, Any], environ: Mapping[str, str]) -> Endpoint | str:
    options = dict(database.get("OPTIONS") or {})
    host = str(database.get("HOST") or options.get("host") or environ.get("MYSQL_HOST") or "")
    if not host and (options.get("read_default_file") or options.get("read_default_group")):
        return "the MySQL option files"
    if host.startswith("/"):
        return Endpoint(socket=host)
    if host in ("", "localhost"):  # libmysqlclient takes "localhost" as the socket
        socket = str(options.get("unix_socket") or environ.get("MYSQL_UNIX_PORT") or "")
        found = socket or next((path for path in MYSQL_SOCKETS if os.path.exists(path)), MYSQL_SOCKETS[0])
        return Endpoint(socket=found)
    port = _port(database.get("PORT") or options.get("port"), MYSQL_PORT)
    return Endpoint(port=port) if port is not None else f"port {database.get('PORT')!r}"


def endpoint(database: Mapping[str, Any], environ: Mapping[str, str]) -> Endpoint | str | None:
    """Where the driver connects (a str: what decides it, which servebench does not read); None: no server
    on this machine to find (SQLite, or a remote one: the CPU is not this machine's)."""
    engine = str(database.get("ENGINE") or "")
    if not engine or "sqlite" in engine or "spatialite" in engine or engine.endswith(".dummy"):
        return None
    if database_problem(database, environ) is not None and not _decided_elsewhere(database, environ):
        return None  # not on this machine (or allowed with --allow-remote-backends)
    if "postgres" in engine or "postgis" in engine:
        return _postgres(database, environ)
    if "mysql" in engine:
        return _mysql(database, environ)
    port = _port(database.get("PORT"), 0)
    return Endpoint(port=port) if port else f"engine {engine}"


def _decided_elsewhere(database: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    """A service file or option file decides the host: not known to be remote, not readable here either."""
    problem = database_problem(database, environ) or ""
    return "comes from" in problem or "connection string" in problem


def lock_file_pid(socket: str) -> int | None:
    """The postmaster's pid from PostgreSQL's `<socket>.lock` (its first line), when readable."""
    try:
        first = Path(f"{socket}.lock").read_text().split("\n", 1)[0].strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(first) if first.isdigit() and psutil.pid_exists(int(first)) else None


def unix_listener_inode(socket: str, *, proc: Path = Path("/proc")) -> int | None:
    """The inode of the listening unix socket bound at `socket`, from <proc>/net/unix."""
    try:
        lines = (proc / "net" / "unix").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        parts = line.split(None, 7)
        if len(parts) == 8 and parts[7] == socket and int(parts[3], 16) & _SO_ACCEPTCON:
            return int(parts[6])
    return None


def socket_holder(inode: int, *, proc: Path = Path("/proc")) -> int | None:
    """The lowest pid holding socket `inode` open (the server's parent: its children inherit it)."""
    target = f"socket:[{inode}]"
    holders = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                holders.append(int(entry.name))
        except OSError:
            continue  # gone, or another user's (not root)
    return min(holders) if holders else None


def tcp_listener(port: int) -> int | None:
    """The pid listening on TCP `port` (any local address), None when none is seen."""
    try:
        listeners = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return None
    for conn in listeners:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    return None


def listener(where: Endpoint, *, proc: Path = Path("/proc")) -> int | None:
    """The process that serves the endpoint: the socket's lock file, its holder, or the TCP listener."""
    if where.socket is None:
        return tcp_listener(where.port or 0)
    if (pid := lock_file_pid(where.socket)) is not None:
        return pid
    inode = unix_listener_inode(where.socket, proc=proc)
    return socket_holder(inode, proc=proc) if inode is not None else None


def database_server(database: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> DatabaseServer | None:
    """The local server of a DATABASES entry (pid None: not found, and how it connects); None: no local server."""
    where = endpoint(database, os.environ if environ is None else environ)
    if where is None:
        return None
    if isinstance(where, str):
        return DatabaseServer(None, f"its host comes from {where}")
    return DatabaseServer(listener(where), where.how)
