"""The debug toolbar panel: this request's cost, the ceiling it implies, and servebench's saved figures."""

from __future__ import annotations

import json
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from debug_toolbar.settings import PANELS_DEFAULTS
from django.conf import settings as django_settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path

from probes import views
from probes.bench.model.app import AppTotals
from probes.bench.model.results import Metadata, Run, Sample, Suite
from probes.panels import ServeBenchPanel

PANEL = "probes.panels.ServeBenchPanel"


def __getattr__(name: str) -> Any:
    """This module's urlpatterns (the urlconf of the full-middleware test), built once the toolbar is installed.

    debug_toolbar's toolbar and store modules define a model: importable only
    while "debug_toolbar" is in INSTALLED_APPS, which only the fixture makes it.
    """
    if name != "urlpatterns":
        raise AttributeError(name)
    from debug_toolbar.toolbar import debug_toolbar_urls

    return [path("probes/", include("probes.urls")), *debug_toolbar_urls()]


@pytest.fixture
def toolbar_settings(settings: Any, tmp_path: Path) -> Path:
    """settings.debug's toolbar set-up, with saved results in a directory of this test's own."""
    settings.DEBUG = True
    settings.STATIC_URL = "static/"  # before the apps: staticfiles checks it when installed
    settings.INSTALLED_APPS = [*django_settings.INSTALLED_APPS, "django.contrib.staticfiles", "debug_toolbar"]
    settings.INTERNAL_IPS = ["127.0.0.1"]
    # Only our panel: it must work without the SQL panel.
    settings.DEBUG_TOOLBAR_PANELS = [PANEL]
    results = tmp_path / "results"
    settings.SERVEBENCH = {**django_settings.SERVEBENCH, "RESULTS_DIR": str(results)}
    return results


def stats_for(get_response: Any, url: str = "/probes/session-db/") -> tuple[ServeBenchPanel, dict[str, Any]]:
    """Build the toolbar for one request and run the panel as the toolbar's own tests do."""
    from debug_toolbar.toolbar import DebugToolbar

    request = RequestFactory().get(url)
    toolbar = DebugToolbar(request, get_response)
    panel = toolbar.get_panel_by_id("ServeBenchPanel")
    assert isinstance(panel, ServeBenchPanel)
    response = panel.process_request(request)
    panel.generate_stats(request, response)
    return panel, panel.get_stats()


def sample(ok_per_s: float) -> Sample:
    return Sample(
        generator="builtin",
        duration_s=2.0,
        requests=int(2 * ok_per_s),
        ok=int(2 * ok_per_s),
        errors={},
        status_counts={"200": int(2 * ok_per_s)},
        redirect_location=None,
        latency_ms={"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0, "mean": 1.2},
        cpu_s={"server": 1.0, "client": 0.2},
        machine_busy_s=1.5,
        wall_s=2.0,
        cores=2,
        app=AppTotals(),
        served_by_pid={},
    )


def run(label: str, url: str, rates: list[float], **extra: Any) -> Run:
    return Run(
        label=label,
        kind=label.split(" ")[0],
        workers=2,
        threads=1,
        front="direct",
        socket="tcp",
        app="project",
        path=url,
        concurrency=8,
        keepalive=True,
        generator="builtin",
        samples=tuple(sample(rate) for rate in rates),
        quality="ok",
        **extra,
    )


def save(directory: Path, name: str, runs: list[Run], *, age_s: float, verdict: str = "") -> None:
    """A saved sweep as the command writes it, `age_s` old; `verdict` added as the diagnosis will."""
    data = Suite(metadata=Metadata.collect(settings_module="settings.test"), runs=tuple(runs)).to_dict()
    for item in data["runs"]:
        item["verdict"] = verdict
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / name
    file.write_text(json.dumps(data))
    stamp = time.time() - age_s
    os.utime(file, (stamp, stamp))


def three_queries_and_20_ms_asleep(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT 1")
    time.sleep(0.02)  # wall time without CPU: the panel must tell the two apart
    return HttpResponse("ok")


@pytest.mark.django_db
def test_counts_queries_and_separates_wall_from_cpu(toolbar_settings: Path) -> None:
    _, stats = stats_for(three_queries_and_20_ms_asleep)
    assert stats["queries"] == 3
    assert 0 < stats["db_ms"] < stats["wall_ms"]
    assert stats["wall_ms"] >= 20
    assert stats["cpu_ms"] < stats["wall_ms"] / 2
    assert stats["cores"] == len(os.sched_getaffinity(0))
    assert stats["per_worker_rps"] == pytest.approx(1000 / stats["wall_ms"])
    assert stats["machine_rps"] == pytest.approx(stats["cores"] * 1000 / stats["cpu_ms"])
    assert stats["measured"] == []


@pytest.mark.django_db
def test_the_session_db_probe_shows_its_queries_and_ceilings(toolbar_settings: Path) -> None:
    panel, stats = stats_for(views.session_db)
    assert stats["path"] == "/probes/session-db/"
    assert stats["queries"] >= 1  # the session's INSERT
    assert stats["db_ms"] > 0
    assert stats["per_worker_rps"] > 0
    assert stats["machine_rps"] > 0
    assert "r/s per worker" in panel.nav_subtitle
    html = panel.content
    assert f"<td>{stats['queries']}</td>" in html
    assert f"{stats['wall_ms']:.2f} ms" in html
    assert "No saved sweep of this path" in html


@pytest.mark.django_db
def test_shows_the_newest_measured_rate_per_server(toolbar_settings: Path) -> None:
    results = toolbar_settings
    save(
        results,
        "sweep-20250101-000000.json",
        [
            run("gunicorn w2", "/probes/session-db/", [90.0, 100.0, 110.0]),
            run("uwsgi w2", "/probes/session-db/", [80.0, 84.0, 70.0]),
        ],
        age_s=60,
    )
    save(
        results,
        "sweep-20250102-000000.json",
        [
            run("gunicorn w2", "/probes/session-db/", [240.0, 250.0, 262.0]),
            run("gunicorn w4", "/probes/trivial/", [4000.0]),  # another URL
            run("flup w2", "/probes/session-db/", [], error="flup needs --front nginx"),
        ],
        age_s=10,
        verdict="serialized",
    )
    (results / "sweep-broken.json").write_text("{not json")
    (results / "view-cost-20250103-000000.json").write_text("{}")  # not a sweep

    panel, stats = stats_for(views.session_db)
    measured = {row["label"]: row for row in stats["measured"]}
    assert sorted(measured) == ["gunicorn w2", "uwsgi w2"]
    assert measured["gunicorn w2"]["ok_per_s"] == 250.0  # median of the newest file's samples
    assert measured["gunicorn w2"]["file"] == "sweep-20250102-000000.json"
    assert measured["uwsgi w2"]["ok_per_s"] == 80.0
    assert measured["uwsgi w2"]["quality"] == "ok"
    # The diagnosis's verdict, once Run carries it (getattr: older results have none).
    has_verdict = "verdict" in {f.name for f in fields(Run)}
    assert measured["gunicorn w2"]["verdict"] == ("serialized" if has_verdict else "")
    html = panel.content
    assert "<td>gunicorn w2</td>" in html
    assert "<td>250</td>" in html
    assert "<td>80</td>" in html
    assert "4000" not in html


@pytest.mark.django_db
def test_inside_the_real_middleware_beside_the_default_panels(settings: Any, toolbar_settings: Path) -> None:
    settings.DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, PANEL]
    settings.MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *django_settings.MIDDLEWARE]
    settings.ROOT_URLCONF = __name__
    from debug_toolbar.store import get_store

    store = get_store()
    store.clear()
    response = Client().get("/probes/session-db/")
    assert response.status_code == 200
    [request_id] = store.request_ids()
    # What the store kept went through JSON and back.
    stats = store.panel(request_id, "ServeBenchPanel")
    assert stats["queries"] >= 1
    assert stats["per_worker_rps"] > 0
    assert stats["machine_rps"] > 0
    store.clear()


@pytest.mark.django_db
def test_names_the_top_functions_of_the_newest_profile_of_its_url(toolbar_settings: Path) -> None:
    from probes.bench.measure.speedscope import FunctionCost, Profile

    def profiled(function: str, self_pct: float) -> Profile:
        top = (FunctionCost(function, "/site/shop/views.py", 12, self_pct, 90.0, "project"),)
        shares = {"view": 0.6, "database": 0.3, "server": 0.1}
        return Profile(400, 2, shares, top, (), f"/results/{function}.speedscope.json")

    older = run("gunicorn w2", "/probes/session-db/", [100.0], profile=profiled("old_helper", 50.0))
    newer = run("uwsgi w2", "/probes/session-db/", [120.0], profile=profiled("save_cart", 61.5))
    save(toolbar_settings, "sweep-20250101-000000.json", [older], age_s=60)
    save(toolbar_settings, "sweep-20250102-000000.json", [newer], age_s=10)
    panel, stats = stats_for(views.session_db)
    profile = stats["profile"]
    assert (profile["label"], profile["file"]) == ("uwsgi w2", "sweep-20250102-000000.json")
    assert [cost["function"] for cost in profile["top"]] == ["save_cart"]
    assert profile["shares"] == {"view": 60.0, "database": 30.0, "server": 10.0}
    html = panel.content
    assert "<code>save_cart</code>" in html and "/site/shop/views.py:12" in html and "<td>61.5</td>" in html
    assert "old_helper" not in html


def test_a_bad_saved_file_is_skipped_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from probes.panels import measured_runs

    save(tmp_path, "sweep-20250101-000000.json", [run("gunicorn w2", "/probes/trivial/", [100.0])], age_s=60)
    data = json.loads((tmp_path / "sweep-20250101-000000.json").read_text())
    data["runs"][0]["samples"][0]["ok"] = -200  # newer, and damaged: negative
    (tmp_path / "sweep-20250102-000000.json").write_text(json.dumps(data))
    deep = '{"format": "servebench/1", "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (tmp_path / "sweep-20250103-000000.json").write_text(deep)  # newest: nesting past Python's recursion
    with caplog.at_level("WARNING", logger="probes.panels"):
        rows = measured_runs("/probes/trivial/", tmp_path)
    assert [(row["label"], row["file"]) for row in rows] == [("gunicorn w2", "sweep-20250101-000000.json")]
    assert [record.getMessage() for record in caplog.records] == [
        f"servebench panel: skipped {tmp_path}/sweep-20250103-000000.json: nested deeper than 32 levels,"
        " not a servebench result",
        f"servebench panel: skipped {tmp_path}/sweep-20250102-000000.json: runs[0].samples[0].ok is -200:"
        " a count, duration or rate is never negative",
    ]
