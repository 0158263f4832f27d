"""Whether a URL writes: the statements that change rows, per table, with the rows they changed; the one
line that says so (the session of --login-as said as what it is); kept in the result's metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models.functions import Lower

from probes.bench.judge.wording.writes import writes_line
from probes.bench.model.results import Suite
from probes.bench.model.writes import TableWrite, Writes
from probes.job import writes
from tests.factories import METADATA


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ('INSERT INTO "api_ping" ("count") VALUES (%s) RETURNING "api_ping"."id"', ("INSERT", "api_ping")),
        ('UPDATE "api_ping" SET "count" = ("api_ping"."count" + %s)', ("UPDATE", "api_ping")),
        ('DELETE FROM "django_session" WHERE "session_key" = %s', ("DELETE", "django_session")),
        ("REPLACE INTO `counters` (`n`) VALUES (%s)", ("REPLACE", "counters")),
        ("INSERT OR IGNORE INTO t (a) VALUES (1)", ("INSERT", "t")),
        ('UPDATE "public"."shop_order" SET x = 1', ("UPDATE", "shop_order")),
        ("/* a comment */\n  -- another\n update hits set n = n + 1", ("UPDATE", "hits")),
        ('SELECT "a" FROM "t" WHERE "b" = %s FOR UPDATE', None),
        ('SAVEPOINT "s1"', None),
        ('RELEASE SAVEPOINT "s1"', None),
        ("UPDATED_AT", None),
    ],
)
def test_a_statement_that_changes_rows_is_named_with_its_table(sql: str, found: tuple[str, str] | None) -> None:
    assert writes.written_table(sql) == found


@pytest.mark.django_db
def test_what_a_request_wrote_is_counted_per_table_with_its_rows() -> None:
    Group.objects.create(name="a")
    with writes.observed() as tally:
        Group.objects.create(name="b")  # SQLite: INSERT … RETURNING, its row counted once fetched
        Group.objects.filter(name__in=["a", "b"]).update(name=Lower("name"))
        Group.objects.filter(name="nobody").update(name="x")
        list(Group.objects.all())  # a read: not a write
    assert tally.tables() == (
        TableWrite("auth_group", "INSERT", 1, 1),
        TableWrite("auth_group", "UPDATE", 2, 2),
    ), "two UPDATEs, of 2 rows and of none; a SELECT is no write"
    # Outside the context nothing more is counted.
    Group.objects.create(name="d")
    assert len(tally.statements) == 3
    assert not any(wrapper for wrapper in connection.execute_wrappers if wrapper.__name__ == "watch")


def test_the_line_names_the_tables_and_the_fix() -> None:
    seen = Writes(
        "/ping/",
        (TableWrite("api_ping", "UPDATE", 1, 1), TableWrite("api_log", "INSERT", 2, 2)),
        session_table="django_session",
    )
    assert writes_line(seen) == (
        "/ping/ writes api_ping (UPDATE x1, 1 row), api_log (INSERT x2, 2 rows) in one request: the run changes"
        " your database, and every configuration runs on the data the previous ones changed; --db-copy gives"
        " each one a fresh copy"
    )
    copied = Writes("/ping/", (TableWrite("api_ping", "UPDATE", 1, None),), db_copy=True)
    assert writes_line(copied) == (
        "/ping/ writes api_ping (UPDATE x1) in one request: every configuration runs on a fresh copy of the"
        " database (--db-copy), yours is left as it was"
    )
    assert writes_line(Writes("/read/", ())) is None


def test_the_session_of_login_as_is_said_as_expected_and_new_sessions_are_not() -> None:
    own = (TableWrite("django_session", "UPDATE", 1, 1),)
    logged_in = Writes("/private/", own, session_table="django_session", login_session=True)
    assert writes_line(logged_in) == (
        "/private/ writes only the session of --login-as in django_session (UPDATE x1, 1 row) in one request;"
        " servebench deletes that session when the run ends, no other table changes"
    )
    # A new session per request (an anonymous visitor's) is rows added to the project's table.
    new = Writes("/", (TableWrite("django_session", "INSERT", 1, 1),), session_table="django_session")
    line = writes_line(new)
    assert line is not None
    assert line.startswith("/ writes django_session (INSERT x1, 1 row) in one request (the session middleware's")
    assert line.endswith("--db-copy gives each one a fresh copy")
    # Under --login-as, another table written is warned about as any write.
    both = Writes("/p/", (*own, TableWrite("api_ping", "UPDATE", 1, 1)), "django_session", login_session=True)
    assert "the run changes your database" in (writes_line(both) or "")


@pytest.mark.django_db
def test_the_session_table_is_the_engines_own() -> None:
    assert writes.session_table() == "django_session"  # settings.test: SESSION_ENGINE is the database


def test_what_was_written_is_kept_in_the_results_metadata(tmp_path: Path) -> None:
    seen = Writes("/ping/", (TableWrite("auth_group", "INSERT", 1, 1),), "django_session", status=200)
    said: list[str] = []
    metadata = writes.noted(METADATA, seen, said.append)
    assert said == [writes_line(seen)]
    assert writes.noted(metadata, Writes("/read/", ()), said.append) is metadata and len(said) == 1
    Suite(metadata=metadata).dump(tmp_path / "r.json")
    assert Suite.load(tmp_path / "r.json").metadata.writes == (seen,)
