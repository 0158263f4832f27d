"""What the targets need around the servers: memcached, the database, and their cleanup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bench.measure.sweep import Progress
from ..bench.model.results import Skipped
from ..bench.processes.child import ServiceUnavailable
from ..bench.processes.supervisor import Supervisor
from ..bench.servers.kinds import parse_address
from ..bench.servers.memcached import Memcached, memcached_answers, start_memcached
from ..bench.servers.postgres import start_postgres
from ..catalog import Probe
from ..cli.matrix import Target
from ..conf import get_config
from . import project, sessions


class JobError(RuntimeError):
    """A problem the user can fix; the command shows its message on one line."""


@dataclass(frozen=True)
class Services:
    """The memcached the targets use (None: none needed, or the project's own), and the probes skipped."""

    memcached: Memcached | None
    skipped: tuple[Skipped, ...]


def provide_services(
    targets: Sequence[Target],
    *,
    supervisor: Supervisor,
    memcached_address: str | None,
    required: bool,
    memcached_transport: str = "unix",
    progress: Progress | None = None,
) -> Services:
    """Start (or check) the memcached the targets need; required=True fails instead of skipping a probe.

    A probe says whether it needs memcached. A --url target may need the managed cache alias
    without any setting saying so: the demo's session-cache view stores its sessions in
    SESSION_CACHE_ALIAS while SESSION_ENGINE is the database, so only the view knows. The
    managed alias points at nothing until servebench starts its memcached, so a --url target
    gets it whenever the project has one; if it cannot start, the run goes on and a view that
    needed it fails its proof, naming the error.
    """
    needing = [t.probe for t in targets if t.probe is not None and t.probe.needs_memcached]
    alias = project.managed_memcached_alias()
    urls = alias is not None and any(target.probe is None for target in targets)
    if not needing and not urls:
        return Services(None, ())
    try:
        if memcached_address:
            host, port = parse_address(memcached_address)
            if not memcached_answers(host, port):
                raise JobError(f"no memcached answers at {memcached_address}")
            memcached = Memcached(host, port, None)
        elif alias is None:
            # The project's own cache configuration is used as it is.
            return Services(None, ())
        else:
            memcached = start_memcached(supervisor, transport=memcached_transport)
    except (ServiceUnavailable, ValueError) as exc:
        if needing and required:
            raise JobError(str(exc)) from None
        if urls and progress is not None:
            progress(f"no memcached for the cache {alias!r} ({exc}): a view that uses it will fail")
        return Services(None, tuple(Skipped(probe.name, str(exc)) for probe in needing))
    if alias is not None:
        project.use_memcached(alias, memcached.address)
    return Services(memcached, ())


def prepare_database(probes: Sequence[Probe]) -> None:
    """Migrate a database servebench owns; in the project's own, only check the probes' table exists."""
    if not any(probe.needs_db for probe in probes):
        return
    if not project.prepare_owned_database() and (missing := sessions.session_table_missing()):
        raise JobError(missing)


@dataclass(frozen=True)
class DatabaseRole:
    """The database the servers use: their environment, its CPU role, what could not be found, the cleanup."""

    env: dict[str, str]
    pids: dict[str, int]  # {"database": the server's pid} when found
    unattributed: dict[str, str]  # {"database": how the project connects} when its server was not found
    remove: Callable[[], None]


def provide_database(database: str, *, supervisor: Supervisor, run_dir: Path, progress: Progress) -> DatabaseRole:
    """The database's server environment, CPU role and cleanup: the project's own, or a throwaway PostgreSQL."""
    if database == "project":
        server = project.local_database()
        if server is not None and server.pid is not None:
            return DatabaseRole({}, {"database": server.pid}, {}, lambda: None)
        unattributed = {"database": server.how} if server is not None else {}
        return DatabaseRole({}, {}, unattributed, lambda: None)
    if database != "postgres":
        raise JobError(f"--database takes project or postgres, not {database!r}")
    if not get_config()["OWN_DATABASE"]:
        raise JobError("--database postgres is for the demo site: your project's own database is what it uses")
    progress("starting a throwaway PostgreSQL")
    try:
        postgres = start_postgres(supervisor, run_dir=run_dir)
    except ServiceUnavailable as exc:
        raise JobError(str(exc)) from None
    project.use_database(postgres.url)
    # Its files lie outside the run directory: remove() stops it and deletes them.
    return DatabaseRole({"DATABASE_URL": postgres.url}, {"database": postgres.child.pid}, {}, postgres.remove)
