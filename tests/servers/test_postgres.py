"""A throwaway PostgreSQL cluster started by servebench's supervisor, and the demo measured on it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from probes.bench.processes.child import ServiceUnavailable
from probes.bench.processes.ports import accepts_connections
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers import postgres as postgres_module
from probes.bench.servers.postgres import Postgres, postgres_binaries, start_postgres
from probes.job.dburl import database_from_url

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_postgres() -> None:
    """Skip when PostgreSQL or psycopg is missing; fail under CI=true (as conftest.require_binary)."""
    try:
        postgres_binaries()
        import psycopg  # noqa: F401
    except (ServiceUnavailable, ImportError) as exc:
        message = f"{exc} (`make test` installs PostgreSQL as root; psycopg is in requirements.txt)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)


@pytest.fixture
def postgres(supervisor: Supervisor, run_dir: Path) -> Iterator[Postgres]:
    require_postgres()
    cluster = start_postgres(supervisor, run_dir=run_dir)
    yield cluster
    cluster.remove()
    assert not cluster.base_dir.exists()


def postmaster(cluster: Postgres) -> psutil.Process:
    """The postmaster: the only child of the supervised wrapper."""
    [child] = psutil.Process(cluster.child.pid).children()
    return child


@pytest.mark.servers
def test_start_postgres_answers_on_loopback_with_fsync_on(postgres: Postgres) -> None:
    import psycopg

    with psycopg.connect(postgres.url) as connection:
        row = connection.execute(
            "SELECT current_user, current_database(), current_setting('fsync'),"
            " current_setting('listen_addresses'), current_setting('unix_socket_directories')"
        ).fetchone()
    assert row == (postgres.user, postgres.dbname, "on", "127.0.0.1", str(postgres.socket_dir))
    assert postgres.url.startswith(f"postgresql://{postgres.user}:")
    assert postgres.url.endswith(f"@127.0.0.1:{postgres.port}/{postgres.dbname}")
    if os.geteuid() == 0:
        # initdb and postgres refuse root: the cluster runs as the postgres user.
        assert postmaster(postgres).username() == "postgres"
    assert postgres.base_dir.stat().st_mode & 0o777 == 0o700


@pytest.mark.servers
def test_a_wrong_password_is_refused(postgres: Postgres) -> None:
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.url.replace(postgres.password, "wrong"), connect_timeout=5).close()


@pytest.mark.servers
def test_stops_fast_with_a_client_still_connected_and_leaves_nothing(postgres: Postgres) -> None:
    import psycopg

    server = postmaster(postgres)
    family = [server, *server.children(recursive=True)]
    connection = psycopg.connect(postgres.url)  # a smart shutdown would wait for it forever
    try:
        started = time.monotonic()
        postgres.remove()
        took = time.monotonic() - started
    finally:
        connection.close()
    # Well within the supervisor's TERM deadline: a fast shutdown, not the KILL.
    assert took < 4.5, f"postgres took {took:.1f} s to stop"
    assert "database system is shut down" in postgres.child.log_tail(40)
    assert [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert not postgres.base_dir.exists()
    assert not accepts_connections("127.0.0.1", postgres.port)


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _session_table_stats(url: str, *, timeout_s: float = 15.0) -> tuple[int, int, int]:
    """(rows inserted, rows deleted, rows now) of django_session, once the command's backend flushed its stats."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as connection:
        while True:
            # A backend reports its table counters when it exits, a moment after the command did.
            inserted, deleted = connection.execute(
                "SELECT n_tup_ins, n_tup_del FROM pg_stat_user_tables WHERE relname = 'django_session'"
            ).fetchone() or (0, 0)
            if (inserted and deleted == inserted) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        [(rows,)] = connection.execute("SELECT count(*) FROM django_session").fetchall()
    return inserted, deleted, rows


@pytest.mark.servers
def test_the_demo_migrates_into_postgres_and_session_db_writes_there(postgres: Postgres, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "DJANGO_SETTINGS_MODULE": "settings.test",
        # Any SQLite file would appear here: none must.
        "SERVEBENCH_VAR_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "test-only",
    }
    migrated = _manage("migrate", "--no-input", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying sessions.0001_initial... OK" in migrated.stdout

    measured = _manage("servebench", "--view-cost", "--probe", "session-db", env=env)
    assert measured.returncode == 0, measured.stderr
    assert "session-db" in measured.stdout

    inserted, deleted, rows = _session_table_stats(postgres.url)
    # At least the minimum iterations (30) plus warm-up went to PostgreSQL...
    assert inserted >= 30
    # ...and servebench removed every session it created from the database it owns.
    assert (deleted, rows) == (inserted, 0)
    assert list(tmp_path.glob("*.sqlite3")) == []


def test_database_url_becomes_a_postgresql_entry_with_persistent_connections() -> None:
    entry = database_from_url("postgres://bench:s%40cret@127.0.0.1:5433/shop?sslmode=disable")
    assert entry == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "bench",
        "PASSWORD": "s@cret",
        "HOST": "127.0.0.1",
        "PORT": "5433",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"sslmode": "disable"},
    }


def test_database_url_with_a_socket_directory_and_a_connection_per_request() -> None:
    entry = database_from_url("postgresql://bench@%2Frun%2FPostgreSQL/shop?conn_max_age=0")
    assert (entry["HOST"], entry["PORT"], entry["CONN_MAX_AGE"], entry["OPTIONS"]) == ("/run/PostgreSQL", "", 0, {})
    assert database_from_url("postgres://[::1]/shop?conn_max_age=none")["CONN_MAX_AGE"] is None


def test_database_url_of_another_database_is_refused() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="only postgres:// and postgresql://"):
        database_from_url("mysql://bench@127.0.0.1/shop")


@pytest.mark.servers
def test_database_postgres_sweeps_the_demo_on_a_throwaway_cluster_with_a_database_role(tmp_path: Path) -> None:
    require_postgres()
    out = tmp_path / "pg.json"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "TMPDIR": str(tmp_path)}
    argv = [sys.executable, "manage.py", "servebench", "--probe", "session-db", "--database", "postgres"]
    argv += ["--server", "gunicorn", "--workers", "2", "--front", "direct", "--duration", "1", "--warmup", "0.2"]
    argv += ["--repeat", "1", "--json", str(out)]
    clusters_before = set(Path("/tmp").glob("servebench-*-postgres-*"))
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from probes.bench.model.results import Suite

    suite = Suite.load(out)
    (run,) = suite.runs
    assert run.quality != "failing", run.quality_reasons
    (sample,) = run.samples
    assert sample.ok > 0 and sample.errors == {}
    assert sample.cpu_s["database"] > 0  # the PostgreSQL processes are a CPU role of their own
    assert sample.app.db_queries >= sample.app.requests
    assert suite.housekeeping["probe_sessions_deleted"] >= suite.housekeeping["probe_sessions_created"] > 0
    # The cluster, its processes and its files are gone.
    # (TMPDIR is pytest's 0700 directory: the postgres user cannot pass, so the cluster lived in /tmp.)
    assert [p.name for p in tmp_path.glob("servebench-*") if "results" not in p.name] == []
    assert set(Path("/tmp").glob("servebench-*-postgres-*")) == clusters_before
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


@pytest.mark.servers
def test_a_run_directory_too_deep_for_the_socket_still_starts_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As an ordinary user the cluster went next to the run directory, under a deep TMPDIR, and
    # PostgreSQL refused its socket path (more than 107 bytes) with no reason shown. As root the
    # same happens wherever the postgres user may pass: say it may, so the deep path is tried.
    require_postgres()
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(postgres_module, "_traversable_by_others", lambda directory: True)
    with RunDir(parent=deep) as run_dir, Supervisor(run_dir.path) as supervisor:
        cluster = start_postgres(supervisor, run_dir=run_dir.path)
        try:
            assert len(os.fsencode(cluster.socket_dir / f".s.PGSQL.{cluster.port}")) <= 107
            import psycopg

            with psycopg.connect(cluster.url) as connection:
                assert connection.execute("SELECT 1").fetchone() == (1,)
        finally:
            cluster.remove()
        assert not cluster.base_dir.exists()
