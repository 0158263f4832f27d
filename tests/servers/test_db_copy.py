"""A URL that writes: the warning names its tables before the first configuration, and --db-copy leaves
the project's rows as they were (SQLite and PostgreSQL for real); without it they change."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.bench.model.results import Suite
from probes.bench.model.writes import TableWrite
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.postgres import Postgres, start_postgres
from tests.servers.test_postgres import require_postgres

ROOT = Path(__file__).resolve().parents[2]

# Short: what is measured is the database, not the figures. Two configurations: the second would run on
# what the first wrote.
ONE = ["--server", "gunicorn", "--workers", "1", "--front", "direct", "--no-timing"]
ONE += ["--duration", "0.5", "--warmup", "0.1", "--repeat", "1"]
TWO = [*ONE[:3], "1,2", *ONE[4:]]
WARNING = "/grow/ writes auth_group (INSERT x1, 1 row) in one request: "


def manage(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """manage.py in the test project (tests.settings_project: servebench owns nothing of its database)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_project",
        "SERVEBENCH_DB": str(tmp_path / "project.sqlite3"),
        "TMPDIR": str(tmp_path),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def groups_in(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return int(connection.execute("select count(*) from auth_group").fetchone()[0])


@pytest.fixture
def project_db(tmp_path: Path) -> Path:
    assert manage(tmp_path, "migrate", "-v", "0").returncode == 0
    return tmp_path / "project.sqlite3"


@pytest.mark.servers
def test_sqlite_a_url_that_writes_is_said_and_db_copy_leaves_the_rows_as_they_were(
    tmp_path: Path, project_db: Path
) -> None:
    out = tmp_path / "copied.json"
    # A POST, as that endpoint's clients send it (--data makes it one).
    done = manage(tmp_path, "servebench", "--url", "/grow/", "--data", "n=1", *TWO, "--db-copy", "--json", str(out))
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith(WARNING)]
    assert said == [
        WARNING + "every configuration runs on a fresh copy of the database (--db-copy), yours is left as it was"
    ]
    suite = Suite.load(out)
    assert [run.quality != "failing" for run in suite.runs] == [True, True]
    assert all(sample.ok > 0 for run in suite.runs for sample in run.samples)
    [writes] = suite.metadata.writes
    assert (writes.path, writes.tables, writes.db_copy) == ("/grow/", (TableWrite("auth_group", "INSERT", 1, 1),), True)
    assert groups_in(project_db) == 0, "every write went to a copy"
    assert [p.name for p in tmp_path.glob("servebench-*")] == [], "the copies went with the run directory"

    # Without --db-copy the same run adds its rows to the project's database, and says it will.
    done = manage(tmp_path, "servebench", "--url", "/grow/", *ONE, "--json", str(tmp_path / "in-place.json"))
    assert done.returncode == 0, done.stderr
    assert WARNING + "the run changes your database" in done.stderr
    assert groups_in(project_db) > 0


@pytest.fixture
def cluster(supervisor: Supervisor, run_dir: Path) -> Iterator[Postgres]:
    require_postgres()
    postgres = start_postgres(supervisor, run_dir=run_dir)
    yield postgres
    postgres.remove()


def _pg(cluster: Postgres, sql: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(cluster.url, autocommit=True) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.servers
def test_postgresql_db_copy_clones_by_template_and_drops_every_copy(tmp_path: Path, cluster: Postgres) -> None:
    env = {"DATABASE_URL": cluster.url}
    assert manage(tmp_path, "migrate", "-v", "0", env=env).returncode == 0
    out = tmp_path / "copied.json"
    done = manage(tmp_path, "servebench", "--url", "/grow/", *ONE, "--db-copy", "--json", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert WARNING + "every configuration runs on a fresh copy" in done.stderr
    assert all(sample.ok > 0 for run in Suite.load(out).runs for sample in run.samples)
    assert _pg(cluster, "SELECT count(*) FROM auth_group") == [(0,)]
    assert _pg(cluster, "SELECT datname FROM pg_database WHERE datname <> 'postgres' AND NOT datistemplate") == [
        (cluster.dbname,)
    ], "every copy was dropped"

    # Ctrl-C during a configuration: its copy and servebench's are dropped all the same.
    interrupted = subprocess.Popen(
        [sys.executable, "manage.py", "servebench", "--url", "/grow/", *ONE[:-6], "--duration", "30", "--db-copy"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_project", "TMPDIR": str(tmp_path), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    copies = "SELECT datname FROM pg_database WHERE datname LIKE 'servebench\\_%'"
    deadline = time.monotonic() + 60
    # Ready when the configuration's copy exists beside the snapshot and servebench's own.
    while len(_pg(cluster, copies)) < 3 and interrupted.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_pg(cluster, copies)) == 3 and interrupted.poll() is None
    interrupted.send_signal(signal.SIGINT)
    assert interrupted.wait(timeout=60) == 130
    assert _pg(cluster, "SELECT datname FROM pg_database WHERE datname <> 'postgres' AND NOT datistemplate") == [
        (cluster.dbname,)
    ], "every copy was dropped after Ctrl-C"

    # Another session on the database: TEMPLATE cannot copy it, and the line says why.
    import psycopg

    with psycopg.connect(cluster.url):
        done = manage(tmp_path, "servebench", "--url", "/grow/", *ONE, "--db-copy", env=env)
    assert done.returncode != 0
    assert done.stderr.splitlines()[-1] == (
        f"CommandError: --db-copy: PostgreSQL cannot copy {cluster.dbname} while other sessions are connected to it"
        " (CREATE DATABASE … TEMPLATE needs it alone): close them (runserver, psql, a shell) and run again"
    )
    assert "gunicorn" not in done.stderr, "no configuration started"

    # A role that may not create databases is refused before anything starts.
    _pg(cluster, "CREATE ROLE plain LOGIN PASSWORD 'plain'")
    _pg(cluster, f"GRANT ALL ON DATABASE {cluster.dbname} TO plain")
    plain = cluster.url.replace(f"{cluster.user}:{cluster.password}@", "plain:plain@")
    done = manage(tmp_path, "servebench", "--url", "/grow/", *ONE, "--db-copy", env={"DATABASE_URL": plain})
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        "CommandError: --db-copy: the role plain may not create databases (ALTER ROLE plain CREATEDB),"
        " so cannot copy it"
    ]
