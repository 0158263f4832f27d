"""--db-copy: every configuration runs on a fresh copy of the project's database, and servebench's own
in-process calls (the replay, t0, the wrapper's cost) on one more; the project's database is left as it was.

The copies are taken from one snapshot made before the first configuration, so each starts from the
same data even if something else writes to the project's database meanwhile: SQLite's backup API into
0600 files of the private run directory; PostgreSQL's CREATE DATABASE … TEMPLATE, which needs the
source to itself (no other session connected) and a role that may create databases. The servers are
pointed at their copy by DATABASE_NAME_ENV (probes.worker.database); every copy is removed when the
sweep ends, however it ends (the job's undo stack).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from ..bench.contract import DATABASE_NAME_ENV
from ..bench.measure.sweep import Progress
from . import project
from .services import JobError

# Permission denied (a role without CREATEDB) and "source database is being accessed by other users".
_INSUFFICIENT_PRIVILEGE, _OBJECT_IN_USE = "42501", "55006"


def _default() -> Any:
    return connections["default"]


def sqlite_path() -> Path | None:
    """The default SQLite database's file, relative to the project's directory; None when in memory."""
    name = str(_default().settings_dict["NAME"] or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    return project.directory() / name.removeprefix("file:").partition("?")[0]


def refusal() -> str | None:
    """Why --db-copy cannot be used with this project's default database (one line), None when it can.
    PostgreSQL's role is asked whether it may create databases: no process is started."""
    if project.owns_sqlite():
        return None  # the demo's configurations each get a fresh SQLite file already
    engine = str(settings.DATABASES.get("default", {}).get("ENGINE", ""))
    try:
        connection = _default()
        vendor = connection.vendor  # a wrapper of either (PostGIS, a metrics backend) has its vendor
    except (ImproperlyConfigured, ImportError):  # its driver is not installed here: neither of the two
        vendor = ""
    if vendor == "sqlite":
        path = sqlite_path()
        if path is None:
            return "--db-copy: the default database is SQLite in memory: each process has its own already"
        return None if path.is_file() else f"--db-copy: the default database {path} does not exist"
    if vendor != "postgresql":
        return f"--db-copy copies SQLite and PostgreSQL databases, not the default database's {engine or 'none'}"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")
            user, may = cursor.fetchone()
    except DatabaseError as exc:
        return f"--db-copy: cannot ask PostgreSQL whether the role may create databases: {_first_line(exc)}"
    finally:
        connection.close()  # a session on the source would stop CREATE DATABASE … TEMPLATE
    if not may:
        return f"--db-copy: the role {user} may not create databases (ALTER ROLE {user} CREATEDB), so cannot copy it"
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _SqliteCopies:
    """Copies of a SQLite file in the run directory (0700), each 0600, made by the backup API (WAL included)."""

    def __init__(self, run_dir: Path, source: Path) -> None:
        self.run_dir, self.source = run_dir, source

    def copy(self, label: str, template: str | None) -> str:
        path = self.run_dir / f"db-copy-{label}.sqlite3"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.close(fd)
        origin = Path(template) if template is not None else self.source
        # Read-only: nothing is written to the project's file (a WAL one is read with its -wal).
        with (
            contextlib.closing(sqlite3.connect(f"{origin.absolute().as_uri()}?mode=ro", uri=True)) as source,
            contextlib.closing(sqlite3.connect(path)) as copy,
        ):
            source.backup(copy)
        return str(path)

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)


class _PostgresCopies:
    """Throwaway databases CREATEd from a TEMPLATE, through a connection to the maintenance database."""

    def __init__(self, source: str) -> None:
        self.source = source
        # The pid says which run made it (a killed run's copies can be found and dropped by hand).
        self.prefix = f"servebench_{os.getpid()}_{secrets.token_hex(3)}"

    def copy(self, label: str, template: str | None) -> str:
        name = f"{self.prefix}_{label}"
        connection = _default()
        quote = connection.ops.quote_name
        origin = template or self.source
        try:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {quote(name)} TEMPLATE {quote(origin)}")
        except DatabaseError as exc:
            raise JobError(self._why(exc, origin)) from None
        return name

    def _why(self, exc: DatabaseError, origin: str) -> str:
        cause = exc.__cause__
        code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if code == _OBJECT_IN_USE:
            return (
                f"--db-copy: PostgreSQL cannot copy {origin} while other sessions are connected to it"
                " (CREATE DATABASE … TEMPLATE needs it alone): close them (runserver, psql, a shell) and run again"
            )
        if code == _INSUFFICIENT_PRIVILEGE:
            return "--db-copy: the role may not create databases (ALTER ROLE … CREATEDB), so cannot copy it"
        return f"--db-copy: copying {origin} failed: {_first_line(exc)}"

    def drop(self, name: str) -> None:
        connection = _default()
        force = " WITH (FORCE)" if connection.pg_version >= 130000 else ""  # a server still connected
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}{force}")


class DatabaseCopies:
    """One run's copies: a snapshot, servebench's own, and one per configuration (the previous dropped)."""

    def __init__(self, *, run_dir: Path, progress: Progress) -> None:
        connection = _default()
        self.progress = progress
        self.original = str(connection.settings_dict["NAME"])
        path = sqlite_path()
        self.store: _SqliteCopies | _PostgresCopies = (
            _SqliteCopies(run_dir, path) if connection.vendor == "sqlite" and path else _PostgresCopies(self.original)
        )
        self.snapshot: str | None = None
        self.made: list[str] = []
        self._current: str | None = None  # the copy the last configuration ran on
        self._started = 0

    def begin(self) -> None:
        """The snapshot, and this process pointed at a copy of its own. JobError (one line) if it cannot be."""
        self.progress(f"copying the database {Path(self.original).name} (--db-copy)")
        _close_default()  # CREATE DATABASE … TEMPLATE refuses a source with a session, ours too
        self.snapshot = self._copy("source", None)
        _point_default_at(self._copy("here", self.snapshot))

    def fresh(self) -> dict[str, str]:
        """The server environment of the next configuration: a new copy, the previous one dropped."""
        assert self.snapshot is not None, "begin() first"
        if self._current is not None:  # its servers are stopped: the sweep starts one configuration at a time
            self._drop(self._current)
        self._started += 1
        self._current = self._copy(f"config_{self._started}", self.snapshot)
        return {DATABASE_NAME_ENV: self._current}

    def end(self) -> None:
        """This process back on the project's database; every copy dropped (idempotent)."""
        _point_default_at(self.original)
        for name in reversed(list(self.made)):
            self._drop(name)

    def _copy(self, label: str, template: str | None) -> str:
        name = self.store.copy(label, template)
        self.made.append(name)
        return name

    def _drop(self, name: str) -> None:
        try:
            self.store.drop(name)
        except (DatabaseError, OSError) as exc:
            self.progress(f"--db-copy: could not remove the copy {name}: {_first_line(exc)}")
            return
        self.made.remove(name)


def _close_default() -> None:
    connection = _default()
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()


def _point_default_at(name: str) -> None:
    """This process's default database, from its next query on, is `name` (the same server and role)."""
    _close_default()
    _default().settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name


def database_copies(
    db_copy: bool, *, run_dir: Path, progress: Progress, undo: contextlib.ExitStack
) -> Callable[[], dict[str, str]] | None:
    """--db-copy's copies begun (removed by `undo`), and what gives each configuration its own; None without."""
    if not db_copy or project.owns_sqlite():  # the demo's configurations each get a fresh file already
        return None
    copies = DatabaseCopies(run_dir=run_dir, progress=progress)
    undo.callback(copies.end)
    copies.begin()
    return copies.fresh
