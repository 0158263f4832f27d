"""--db-copy refused before anything starts where it cannot copy: one line, a non-zero exit."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.unit.cli.test_bad_input import manage

PROJECT = "from tests.settings_project import *\n"


# A backend whose driver is installed here, as a MySQL project's would be there: the vendor decides.
MYSQL_LIKE = """
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLite


class DatabaseWrapper(SQLite):
    vendor = "mysql"
    display_name = "MySQL"
"""


@pytest.mark.parametrize(
    ("databases", "engine"),
    [
        ("{'default': {'ENGINE': 'mysql_like', 'NAME': 'shop'}}", "mysql_like"),
        ("{}", "django.db.backends.dummy"),
    ],
)
def test_a_backend_neither_sqlite_nor_postgresql_is_refused_in_one_line(
    tmp_path: Path, databases: str, engine: str
) -> None:
    (tmp_path / "mysql_like").mkdir()
    (tmp_path / "mysql_like" / "__init__.py").write_text("")
    (tmp_path / "mysql_like" / "base.py").write_text(MYSQL_LIKE)
    (tmp_path / "other_settings.py").write_text(f"{PROJECT}DATABASES = {databases}\n")
    env = {"DJANGO_SETTINGS_MODULE": "other_settings", "PYTHONPATH": str(tmp_path)}
    done = manage("servebench", "--url", "/ping/", "--db-copy", env=env)
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        f"CommandError: --db-copy copies SQLite and PostgreSQL databases, not the default database's {engine}"
    ]


@pytest.mark.parametrize(
    ("database", "line"),
    [
        (":memory:", "--db-copy: the default database is SQLite in memory: each process has its own already"),
        ("{tmp}/absent.sqlite3", "--db-copy: the default database {tmp}/absent.sqlite3 does not exist"),
    ],
)
def test_a_sqlite_database_that_cannot_be_copied_is_refused(tmp_path: Path, database: str, line: str) -> None:
    name = database.format(tmp=tmp_path)
    (tmp_path / "sqlite_settings.py").write_text(
        f"{PROJECT}DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', 'NAME': {name!r}}}}}\n"
    )
    done = manage(
        "servebench",
        "--url",
        "/ping/",
        "--db-copy",
        env={"DJANGO_SETTINGS_MODULE": "sqlite_settings", "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode != 0
    assert done.stderr.splitlines() == [f"CommandError: {line.format(tmp=tmp_path)}"]


@pytest.mark.parametrize("job", ["--view-cost", "--check"])
def test_a_job_without_load_refuses_it(job: str, nothing_starts: Callable[[], None]) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command("servebench", job, "--db-copy", stdout=StringIO(), stderr=StringIO())
    assert str(excinfo.value) == (
        f"--db-copy gives each configuration under load a fresh database: {job} puts none under load"
    )
    nothing_starts()
