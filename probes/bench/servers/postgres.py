"""A throwaway PostgreSQL cluster on loopback, for the probes that need a real database server."""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The process the supervisor starts for initdb and postgres: as root it drops
from ..processes.child import Child, ServiceUnavailable
from ..processes.ports import free_port
from ..processes.supervisor import SHORT_DIR_PARENT, UNIX_PATH_MAX, Supervisor

# The process the supervisor starts for initdb and postgres: as root it drops
# to the postgres user first (both refuse root; runuser would not exec), then
# runs the command as its child and turns TERM into SIGINT, PostgreSQL's fast
# shutdown. The supervisor's TERM alone would be a smart shutdown, which waits
# for every client to disconnect, so any connection still open (servebench's
# own) would let it run into the KILL: backends orphaned, shared memory leaked.
# The postmaster stays in the supervisor's process group; its children call
# setsid(), so the CPU sampling finds them by parentage, not by session. If
# servebench dies, the kernel sends the wrapper TERM (PR_SET_PDEATHSIG, set
# again after setuid, which clears it): the same fast shutdown.
_POSTGRES_WRAPPER = """
import ctypes, os, pwd, signal, sys
user, argv = sys.argv[1], sys.argv[2:]
parent = os.getppid()
if user:
    entry = pwd.getpwnam(user)
    os.initgroups(entry.pw_name, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    # Changing credentials clears the parent-death signal the supervisor set: set it again.
    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit(1)
pid = 0
def fast_shutdown(signum, frame):
    if pid:
        os.kill(pid, signal.SIGINT)
signal.signal(signal.SIGTERM, fast_shutdown)
signal.signal(signal.SIGINT, fast_shutdown)
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
POSTGRES_OS_USER = "postgres"


@dataclass(frozen=True)
class Postgres:
    """A throwaway PostgreSQL cluster: remove() stops it and deletes its files."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    child: Child
    base_dir: Path  # data directory and unix socket, outside the 0700 run directory

    @property
    def url(self) -> str:
        """A DATABASE_URL for it (postgresql://user:password@host:port/name)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "socket"

    def remove(self, *, timeout_s: float = 10.0) -> None:
        """Stop the cluster (if the supervisor has not yet) and delete its directory. Idempotent."""
        self.child.stop(timeout_s=timeout_s)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        atexit.unregister(self.remove)


def _traversable_by_others(directory: Path) -> bool:
    """True when every directory from / down to `directory` lets other users through (o+x)."""
    return all(path.stat().st_mode & 0o001 for path in (directory, *directory.parents))


def _socket_fits(parent: Path, prefix: str) -> bool:
    """True when the cluster's socket, <parent>/<prefix><8 random>/socket/.s.PGSQL.<port>, stays within
    PostgreSQL's limit (107 bytes: it refuses to start, "Unix-domain socket path ... is too long")."""
    longest = Path(parent) / f"{prefix}{'x' * 8}" / "socket" / ".s.PGSQL.65535"
    return len(os.fsencode(longest)) <= UNIX_PATH_MAX


def postgres_binaries() -> Path:
    """The directory of Debian's initdb and postgres (not on PATH there), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise ServiceUnavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return Path(initdb).parent


def postgres_answers(*, host: str, port: int, user: str, password: str, dbname: str) -> bool:
    """True when a real connection to the database succeeds."""
    import psycopg

    try:
        with psycopg.connect(
            host=host, port=port, user=user, password=password, dbname=dbname, connect_timeout=2
        ) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.OperationalError:  # not listening yet, or "the database system is starting up"
        return False


def start_postgres(
    supervisor: Supervisor,
    *,
    run_dir: Path,
    dbname: str = "servebench",
    user: str = "servebench",
    shared_buffers: str = "32MB",
    timeout_s: float = 60.0,
) -> Postgres:
    """Create a cluster in a temp dir, start it on 127.0.0.1:<free port>, create `dbname`, wait until it answers.

    Its log goes to run_dir (the supervisor's log dir). As root it runs as the
    postgres OS user. fsync stays on: a commit costs what it costs in production.
    Call remove() when done: the supervisor stops the process, not the files.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ServiceUnavailable("psycopg is not installed (pip install 'django-servebench[postgres]')") from None
    binaries = postgres_binaries()
    owner = _os_owner()
    # The run directory is 0700 root: the postgres user could not reach a data
    # directory inside it. A 0700 temp dir owned by postgres, next to it, or in
    # /tmp when the postgres user could not traverse the way there.
    # /tmp too when the socket's path there would pass PostgreSQL's limit (a deep TMPDIR).
    prefix = f"{run_dir.name}-postgres-"
    reachable = owner is None or _traversable_by_others(run_dir.parent)
    parent = run_dir.parent if reachable and _socket_fits(run_dir.parent, prefix) else Path(SHORT_DIR_PARENT)
    base_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        password = _init_cluster(binaries, base_dir, user=user, owner=owner)
        port = free_port()
        argv = _postgres_argv(binaries, base_dir, port=port, shared_buffers=shared_buffers)
        child = supervisor.spawn(f"postgres-{port}", _as_user(argv, owner), env=_postgres_env())
    except BaseException:
        shutil.rmtree(base_dir, ignore_errors=True)
        raise
    postgres = Postgres("127.0.0.1", port, user, password, dbname, child, base_dir)
    # Whoever forgets remove(): stop first, then delete (a running postmaster would lose its files).
    atexit.register(postgres.remove)
    try:
        child.wait_ready(
            lambda: postgres_answers(host="127.0.0.1", port=port, user=user, password=password, dbname="postgres"),
            timeout_s=timeout_s,
        )
        _create_database(postgres)
    except BaseException:
        postgres.remove()
        raise
    return postgres


def _os_owner() -> pwd.struct_passwd | None:
    """The OS user the cluster runs as: postgres when servebench runs as root, else None (ourselves)."""
    try:
        return pwd.getpwnam(POSTGRES_OS_USER) if os.geteuid() == 0 else None
    except KeyError:
        raise ServiceUnavailable(
            f"running as root needs the {POSTGRES_OS_USER!r} OS user (Debian's postgresql package creates it)"
        ) from None


def _init_cluster(binaries: Path, base_dir: Path, *, user: str, owner: pwd.struct_passwd | None) -> str:
    """initdb a cluster in base_dir/data with a socket directory beside it; its password."""
    socket_dir = base_dir / "socket"
    socket_dir.mkdir()
    password = secrets.token_hex(16)
    password_file = base_dir / "password"
    password_file.write_text(password + "\n")
    if owner is not None:
        for path in (base_dir, socket_dir, password_file):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    initdb = [
        str(binaries / "initdb"),
        f"--pgdata={base_dir / 'data'}",
        f"--username={user}",
        f"--pwfile={password_file}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        # Only initdb's own syncing of the new files: the server keeps fsync on.
        "--no-sync",
    ]
    result = subprocess.run(_as_user(initdb, owner), capture_output=True, text=True, timeout=120, env=_postgres_env())
    password_file.unlink()
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise RuntimeError(f"initdb failed: {last}")
    return password


def _postgres_argv(binaries: Path, base_dir: Path, *, port: int, shared_buffers: str) -> list[str]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(base_dir / "socket"),
        "shared_buffers": shared_buffers,
        "fsync": "on",
        "synchronous_commit": "on",
        "max_connections": "200",
    }
    argv = [str(binaries / "postgres"), "-D", str(base_dir / "data"), "-p", str(port)]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    return argv


def _as_user(argv: list[str], owner: pwd.struct_passwd | None) -> list[str]:
    return [sys.executable, "-c", _POSTGRES_WRAPPER, owner.pw_name if owner else "", *argv]


def _postgres_env() -> dict[str, str]:
    # No PG* variables of the caller's (PGDATA, PGPORT...) may redirect the cluster.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _create_database(postgres: Postgres) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=postgres.host,
        port=postgres.port,
        user=postgres.user,
        password=postgres.password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(postgres.dbname)))
