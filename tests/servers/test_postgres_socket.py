"""A project on PostgreSQL reached through its unix socket, as most local set-ups are (issue 20): the
database's CPU is a role of its own, and its work is never read as another process's (machine-shared)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from probes.bench.model.results import Suite
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.postgres import Postgres, start_postgres
from tests.servers.test_postgres import ROOT, require_postgres


@pytest.fixture
def postgres(supervisor: Supervisor, run_dir: Path) -> Postgres:
    require_postgres()
    cluster = start_postgres(supervisor, run_dir=run_dir)
    yield cluster  # type: ignore[misc]
    cluster.remove()


@pytest.mark.servers
def test_a_database_on_its_unix_socket_is_the_database_role_not_another_process(
    postgres: Postgres, tmp_path: Path
) -> None:
    # HOST is the cluster's private socket directory; the port reaches libpq through OPTIONS (?port=).
    # CONN_MAX_AGE=0: every request starts a PostgreSQL backend, the database's CPU is large (W005).
    socket_dir = urllib.parse.quote(str(postgres.socket_dir), safe="")
    url = f"postgresql://{postgres.user}:{postgres.password}@{socket_dir}/{postgres.dbname}"
    env = {
        **os.environ,
        "DATABASE_URL": f"{url}?port={postgres.port}&conn_max_age=0",
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "DJANGO_SECRET_KEY": "test-only",
        "SERVEBENCH_VAR_DIR": str(tmp_path),
    }
    out = tmp_path / "socket.json"
    argv = [sys.executable, "manage.py", "servebench", "--probe", "session-db", "--server", "gunicorn"]
    argv += ["--workers", "2", "--front", "direct", "--duration", "1", "--warmup", "0.2", "--repeat", "1"]
    argv += ["--json", str(out)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "servebench.W005" in done.stderr
    (run,) = Suite.load(out).runs
    (sample,) = run.samples
    assert sample.ok > 0 and sample.errors == {}
    assert sample.unattributed_roles == {}
    # The postmaster and its backends, found through the socket: with CONN_MAX_AGE=0 a backend is started
    # per request (measured: 4.5 ms of CPU per request on the shared 2 cores, ~40 % of the roles' CPU).
    assert 1000 * sample.cpu_s["database"] / sample.served >= 1.0, sample.cpu_s
    assert run.diagnosis is not None
    own = {role: s for role, s in run.diagnosis.figures.cpu_per_request_s.items() if role != "unattributed"}
    assert own["database"] / sum(own.values()) >= 0.25, own
    # W005 was raised: the why line names it as the database share's cause.
    assert "of the roles' CPU with CONN_MAX_AGE=0: each request opens a connection (W005)" in run.diagnosis.why
    print(f"{run.verdict}: {run.diagnosis.why}; {own}")
