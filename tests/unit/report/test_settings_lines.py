"""The settings a result ran with, and its preflight warnings, in every report; --compare says first what differs."""

from __future__ import annotations

from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command

from probes.bench.model.metadata import ProjectSettings
from probes.bench.model.results import Suite
from probes.job.project_settings import project_settings
from probes.report.compare import compare, render_comparison
from probes.report.html import html_report
from probes.report.markdown import markdown_report
from tests.factories import METADATA, gunicorn_run, sample

DEBUG_ON = ProjectSettings(
    debug=True,
    conn_max_age={"default": 0},
    session_engine="django.contrib.sessions.backends.db",
    cache_backend="django.core.cache.backends.locmem.LocMemCache",
)
W001 = {
    "id": "servebench.W001",
    "level": "warning",
    "msg": "DEBUG is True: Django records every SQL query",
    "hint": "Run servebench with settings that set DEBUG = False.",
}
SETTINGS_LINE = "settings settings.test: DEBUG True, CONN_MAX_AGE 0, sessions db, cache LocMemCache"
WARNING_LINE = (
    "warning servebench.W001: DEBUG is True: Django records every SQL query"
    " (fix: Run servebench with settings that set DEBUG = False.)"
)


def measured(
    settings: ProjectSettings | None, *, preflight: tuple[dict[str, str], ...] = (), rps: float = 100.0
) -> Suite:
    runs = (gunicorn_run(1, path="/x", quality="ok", samples=tuple(sample(rps + d) for d in (-1, 0, 1))),)
    return Suite(metadata=replace(METADATA, settings=settings), runs=runs, preflight=preflight)


def test_markdown_html_and_from_say_the_settings_and_the_warnings(tmp_path: Path) -> None:
    suite = measured(DEBUG_ON, preflight=(W001,))
    markdown = markdown_report(suite).splitlines()
    assert markdown[1:4] == ["", f"- {SETTINGS_LINE}", f"- {WARNING_LINE}"]
    html = html_report(suite)
    assert f"<li>{SETTINGS_LINE}</li>" in html and f"<li>{WARNING_LINE}</li>" in html
    saved = tmp_path / "debug.json"
    suite.dump(saved)
    out = StringIO()
    call_command("servebench", "--from", str(saved), stdout=out)
    assert out.getvalue().splitlines()[:2] == [SETTINGS_LINE, WARNING_LINE]


def test_a_result_without_recorded_settings_prints_no_settings_line() -> None:
    markdown = markdown_report(measured(None))
    assert "settings " not in markdown and "warning " not in markdown


def test_the_settings_round_trip_through_the_saved_json(tmp_path: Path) -> None:
    suite = measured(replace(DEBUG_ON, conn_max_age={"default": None, "replica": 60}))
    suite.dump(tmp_path / "r.json")
    assert Suite.load(tmp_path / "r.json").metadata == suite.metadata
    assert "CONN_MAX_AGE default None (persistent), replica 60" in markdown_report(suite)


def test_compare_says_first_that_debug_differs() -> None:
    debug_on = measured(DEBUG_ON, preflight=(W001,), rps=100.0)
    b_metadata = replace(METADATA, settings=replace(DEBUG_ON, debug=False), settings_module="settings.bench")
    debug_off = replace(measured(None, rps=120.0), metadata=b_metadata)
    lines = render_comparison(compare(debug_on, debug_off)).splitlines()
    assert lines[:3] == [
        "DEBUG: True in A, False in B",
        "settings module: settings.test in A, settings.bench in B",
        "warning servebench.W001: raised in A, not raised in B",
    ]
    assert lines[3].startswith("A: ")
    assert any("1.20x faster" in line for line in lines)


def test_compare_of_the_same_settings_says_nothing_of_them() -> None:
    lines = render_comparison(compare(measured(DEBUG_ON), measured(DEBUG_ON, rps=120.0))).splitlines()
    assert lines[0].startswith("A: ")


def test_the_job_reads_the_settings_the_servers_run_with(settings: Any) -> None:
    settings.DEBUG = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    assert project_settings() == ProjectSettings(
        debug=True,
        conn_max_age={"default": 0},  # settings.test leaves Django's default
        session_engine="django.contrib.sessions.backends.cache",
        cache_backend="django.core.cache.backends.locmem.LocMemCache",
    )


def test_every_report_says_that_a_url_writes_and_which_tables(tmp_path: Path) -> None:
    from probes.bench.model.writes import TableWrite, Writes

    ping = Writes(path="/ping/", tables=(TableWrite("auth_group", "INSERT", 1, 1),))
    suite = measured(DEBUG_ON)
    suite = replace(suite, metadata=replace(suite.metadata, writes=(ping,)))
    line = (
        "/ping/ writes auth_group (INSERT x1, 1 row) in one request: the run changes your database, and every"
        " configuration runs on the data the previous ones changed; --db-copy gives each one a fresh copy"
    )
    assert f"- {line}" in markdown_report(suite).splitlines()
    assert f"<li>{line}</li>" in html_report(suite)
    saved = tmp_path / "ping.json"
    suite.dump(saved)
    out = StringIO()
    call_command("servebench", "--from", str(saved), stdout=out)
    assert line in out.getvalue().splitlines()
