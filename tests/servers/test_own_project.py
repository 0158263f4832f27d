"""servebench in a project of its own: --login-as, probe-session cleanup, remote backends refused."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.bench.model.results import Suite
from probes.cli.backends import remote_backends

ROOT = Path(__file__).resolve().parents[2]


def manage(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_project",
        "SERVEBENCH_DB": str(tmp_path / "project.sqlite3"),
        "TMPDIR": str(tmp_path),  # a failing run keeps its logs in its run directory
    }
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project_db(tmp_path: Path) -> Path:
    assert manage(tmp_path, "migrate", "-v", "0").returncode == 0
    create = "from django.contrib.auth.models import User; User.objects.create_user('alice', password='x')"
    assert manage(tmp_path, "shell", "-c", create).returncode == 0
    return tmp_path / "project.sqlite3"


SHORT = ["--server", "gunicorn", "--workers", "1", "--front", "direct", "--duration", "1", "--warmup", "0.2"]


def sessions_in(db: Path) -> list[str]:
    # closing(): sqlite3's own context manager commits but leaves the connection open.
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return [row[0] for row in connection.execute("select session_key from django_session")]


@pytest.mark.servers
def test_login_as_reaches_a_protected_view_and_its_session_is_removed(tmp_path: Path, project_db: Path) -> None:
    out = tmp_path / "login.json"
    done = manage(tmp_path, "servebench", "--url", "/private/", "--login-as", "alice", *SHORT, "--json", str(out))
    assert done.returncode == 0, done.stderr
    suite = Suite.load(out)
    (run,) = suite.runs
    assert run.quality != "failing", run.quality_reasons
    assert all(sample.ok > 0 and sample.errors == {} for sample in run.samples)
    assert suite.housekeeping["login_sessions_created"] == suite.housekeeping["login_sessions_deleted"] == 1
    assert sessions_in(project_db) == []
    # t0 too is measured with the cookie: the page itself, not the login redirect (it was missing, unsaid).
    (cost,) = suite.view_costs
    assert (cost.path, cost.status, cost.response_bytes) == ("/private/", 200, len("hello alice\n"))
    assert suite.notes == ()

    # Without the cookie the same view redirects to the login page, and says so; t0 says why it is missing.
    out = tmp_path / "anonymous.json"
    done = manage(tmp_path, "servebench", "--url", "/private/", *SHORT, "--json", str(out))
    anonymous = Suite.load(out)
    (run,) = anonymous.runs
    assert run.quality == "failing"
    assert "redirects to /accounts/login/?next=/private/" in run.quality_reasons[0]
    why = "t0 not measured: GET /private/ answered 302 in-process (a login page? --login-as USERNAME)"
    assert anonymous.view_costs == () and anonymous.notes == (why,)
    assert why in done.stderr + done.stdout


@pytest.mark.servers
def test_probe_sessions_in_the_projects_database_are_removed(tmp_path: Path, project_db: Path) -> None:
    out = tmp_path / "sessions.json"
    done = manage(tmp_path, "servebench", "--probe", "session-db", *SHORT, "--json", str(out))
    assert done.returncode == 0, done.stderr
    suite = Suite.load(out)
    created = suite.housekeeping["probe_sessions_created"]
    assert created > 0
    assert suite.housekeeping["probe_sessions_deleted"] >= created
    assert sessions_in(project_db) == []


def test_an_unknown_login_user_is_one_clear_line(tmp_path: Path, project_db: Path) -> None:
    done = manage(tmp_path, "servebench", "--url", "/private/", "--login-as", "bob", *SHORT)
    assert done.returncode != 0
    assert "--login-as: no user 'bob' in the project's database" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.parametrize(
    ("databases", "caches", "expected"),
    [
        (
            {"ENGINE": "django.db.backends.postgresql", "HOST": "db.example.com"},
            None,
            ["database 'default' at db.example.com"],
        ),
        ({"ENGINE": "django.db.backends.postgresql", "HOST": "10.1.2.3"}, None, ["database 'default' at 10.1.2.3"]),
        ({"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1"}, None, []),
        ({"ENGINE": "django.db.backends.postgresql", "HOST": ""}, None, []),
        ({"ENGINE": "django.db.backends.postgresql", "HOST": "/var/run/postgresql"}, None, []),
        (
            None,
            {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://cache.internal:6379/0"},
            ["cache 'default' at cache.internal"],
        ),
        (
            None,
            {
                "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                "LOCATION": ["127.0.0.1:11211", "[::1]:11211"],
            },
            [],
        ),
    ],
)
def test_remote_backends_are_named(
    settings: object, databases: dict | None, caches: dict | None, expected: list[str]
) -> None:
    if databases is not None:
        settings.DATABASES = {"default": {**databases, "NAME": "x"}}  # type: ignore[attr-defined]
    if caches is not None:
        settings.CACHES = {"default": caches}  # type: ignore[attr-defined]
    assert remote_backends() == expected


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_a_remote_database_is_refused(settings: object) -> None:
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "db.example.com", "NAME": "x"}}  # type: ignore[attr-defined]
    with pytest.raises(
        CommandError, match="refusing to run: database 'default' at db.example.com is not on this machine"
    ):
        call_command("servebench", "--view-cost", stdout=StringIO(), stderr=StringIO())
