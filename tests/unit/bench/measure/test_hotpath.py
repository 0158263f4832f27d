"""Profiles that name the project's code: its functions by total, the view Django calls and what it spends
its time on (ORM, templates...), and a flame graph that reaches the view under many middlewares."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from probes.bench.measure.hotpath import HotFunction, callee_kind, package
from probes.bench.measure.speedscope import FLAME_MAX_DEPTH, Profile, read_speedscope
from probes.bench.model.results import Suite
from probes.report.html import html_report
from probes.report.sweep_lines import profile_lines
from tests.factories import METADATA, gunicorn_run, sample

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
SITE = "/venv/lib/python3.12/site-packages"
PROJECT = Path("/srv/shop")
DJANGO_MIDDLEWARES = 12  # Django's own: each is MiddlewareMixin.__call__ under the handler's inner()


def frame(name: str, file: str, line: int = 1) -> dict[str, Any]:
    return {"name": name, "file": file, "line": line}


SERVER = [
    frame('process 7:"gunicorn shop.wsgi"', "", 0),
    frame("<module>", "/venv/bin/gunicorn"),
    frame("Arbiter.run", f"{SITE}/gunicorn/arbiter.py", 200),
    frame("SyncWorker.run", f"{SITE}/gunicorn/workers/sync.py", 120),
]
WAIT = [frame("SyncWorker.wait", f"{SITE}/gunicorn/workers/sync.py", 30)]
HANDLING = [
    frame("SyncWorker.handle_request", f"{SITE}/gunicorn/workers/sync.py", 160),
    frame("WSGIHandler.__call__", f"{SITE}/django/core/handlers/wsgi.py", 120),
    frame("BaseHandler.get_response", f"{SITE}/django/core/handlers/base.py", 130),
    frame("convert_exception_to_response.<locals>.inner", f"{SITE}/django/core/handlers/exception.py", 55),
]
for _ in range(DJANGO_MIDDLEWARES):
    HANDLING += [
        frame("MiddlewareMixin.__call__", f"{SITE}/django/utils/deprecation.py", 120),
        frame("convert_exception_to_response.<locals>.inner", f"{SITE}/django/core/handlers/exception.py", 55),
    ]
HANDLING += [
    frame("TenantMiddleware.__call__", "/srv/shop/shop/middleware.py", 8),
    frame("convert_exception_to_response.<locals>.inner", f"{SITE}/django/core/handlers/exception.py", 55),
    frame("BaseHandler._get_response", f"{SITE}/django/core/handlers/base.py", 170),
    frame("checks", "/srv/shop/shop/views.py", 12),
]
HELPER = [frame("weigh", "/srv/shop/shop/helpers.py", 3)]
# The helper called through the ORM (an SQLite function of the project's) and through a template.
ORM = [
    frame("QuerySet.__iter__", f"{SITE}/django/db/models/query.py", 380),
    frame("ModelIterable.__iter__", f"{SITE}/django/db/models/query.py", 90),
    frame("SQLCompiler.execute_sql", f"{SITE}/django/db/models/sql/compiler.py", 1560),
    frame("CursorWrapper.execute", f"{SITE}/django/db/backends/utils.py", 79),
    frame("SQLiteCursorWrapper.execute", f"{SITE}/django/db/backends/sqlite3/base.py", 350),
]
TEMPLATE = [
    frame("render", f"{SITE}/django/shortcuts.py", 25),
    frame("render_to_string", f"{SITE}/django/template/loader.py", 62),
    frame("Template.render", f"{SITE}/django/template/backends/django.py", 107),
    frame("Template._render", f"{SITE}/django/template/base.py", 167),
    frame("NodeList.render", f"{SITE}/django/template/base.py", 1000),
    frame("ForNode.render", f"{SITE}/django/template/defaulttags.py", 240),
    frame("Variable.resolve", f"{SITE}/django/template/base.py", 850),
    frame("Variable._resolve_lookup", f"{SITE}/django/template/base.py", 900),
]


def django_profile(tmp_path: Path) -> Profile:
    """10 samples of a request: 5 in the helper through the ORM, 3 through a template, 1 in the view,
    1 in the server's idle wait (the arbiter serves nothing: it is left out)."""
    frames: list[dict[str, Any]] = []

    def stack(*parts: list[dict[str, Any]]) -> list[int]:
        indexes = []
        for item in (f for part in parts for f in part):
            if item not in frames:
                frames.append(item)
            indexes.append(frames.index(item))
        return indexes

    samples = [stack(SERVER, HANDLING, ORM, HELPER)] * 5 + [stack(SERVER, HANDLING, TEMPLATE, HELPER)] * 3
    samples += [stack(SERVER, HANDLING), stack(SERVER, WAIT)]
    doc = {"profiles": [{"samples": samples}], "shared": {"frames": frames}}
    (tmp_path / "django.json").write_text(json.dumps(doc))
    return read_speedscope(tmp_path / "django.json", project_dirs=[PROJECT], probes_dir=Path(SITE) / "probes")


def test_the_view_is_named_with_its_total_and_what_it_spends_it_on(tmp_path: Path) -> None:
    profile = django_profile(tmp_path)
    assert profile.hot == HotFunction(
        function="checks",
        file="/srv/shop/shop/views.py",
        line=12,
        self_pct=10.0,
        total_pct=90.0,
        view=True,
        spent=(("ORM", 50.0), ("templates", 30.0), ("project code", 10.0)),
    )
    # By total, self said too: the helper's self time no longer hides the view and the middleware.
    assert [(f.function, f.total_pct, f.self_pct) for f in profile.top] == [
        ("checks", 90.0, 10.0),  # at equal total, the one with more self time first
        ("TenantMiddleware.__call__", 90.0, 0.0),
        ("weigh", 80.0, 80.0),
    ]
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_the_profile_line_names_the_view_with_its_total(tmp_path: Path) -> None:
    profile = django_profile(tmp_path)
    run = gunicorn_run(1, path="/checks/", samples=(sample(100.0),), profile=profile, profiled=sample(100.0))
    [line] = profile_lines([run])
    assert (
        "top: `checks` view (views.py:12) 90 % total, 10 % self: ORM 50 %, templates 30 %, project code 10 %;"
        " by total: checks (views.py:12) 90 % total, 10 % self;"
        " TenantMiddleware.__call__ (middleware.py:8) 90 % total, 0 % self; weigh (helpers.py:3) 80 % total, 80 % self;"
    ) in line


def test_stacks_deeper_than_the_cap_are_drawn_from_the_first_project_frame(tmp_path: Path) -> None:
    profile = django_profile(tmp_path)
    assert len(SERVER + HANDLING + TEMPLATE + HELPER) - 1 > FLAME_MAX_DEPTH  # the process frame is no box
    assert profile.flame_cut_at == FLAME_MAX_DEPTH
    roots = {node.function for node in profile.flame if node.depth == 0}
    assert roots == {"TenantMiddleware.__call__", "<module>"}  # the idle stack has no project frame: whole
    drawn = {node.function for node in profile.flame}
    assert {"checks", "Template._render", "Variable._resolve_lookup", "weigh"} <= drawn
    run = gunicorn_run(1, path="/checks/", samples=(sample(100.0),), profile=profile, profiled=sample(100.0))
    page = html_report(Suite(metadata=METADATA, runs=(run,)))
    assert "drawn from the project&#39;s first frame: stacks deeper than 40 frames" in page


def test_a_shallow_profile_is_drawn_from_the_root() -> None:
    profile = read_speedscope(
        FIXTURES / "profile_small.speedscope.json", project_dirs=[PROJECT], probes_dir=Path(SITE) / "probes"
    )
    assert profile.flame_cut_at == 0
    assert {node.function for node in profile.flame if node.depth == 0} == {"<module>"}
    # No request handler's _get_response above it: the entry, not called "view"; json is its own package.
    assert profile.hot is not None
    assert (profile.hot.function, profile.hot.view, profile.hot.total_pct) == ("checkout", False, 70.0)
    assert profile.hot.spent == (("project code", 40.0), ("database", 20.0), ("json", 10.0))


def test_a_profile_saved_before_reads_as_it_did() -> None:
    """No `hot` recorded: the old line, whose top was by self time (the saved results render byte for byte)."""
    profile = read_speedscope(
        FIXTURES / "profile_small.speedscope.json", project_dirs=[PROJECT], probes_dir=Path(SITE) / "probes"
    )
    old = replace(profile, hot=None, top=tuple(sorted(profile.top, key=lambda f: -f.self_pct)))
    run = gunicorn_run(1, path="/", samples=(sample(100.0),), profile=old, profiled=sample(100.0))
    [line] = profile_lines([run])
    assert (
        "top: price_basket (pricing.py:3) 30 % self, 40 % total; checkout (views.py:12) 10 % self, 70 % total;" in line
    )


@pytest.mark.parametrize(
    ("file", "kind"),
    [
        (f"{SITE}/django/db/models/query.py", "ORM"),
        (f"{SITE}/django/db/backends/utils.py", "database"),
        (f"{SITE}/psycopg/cursor.py", "database"),
        (f"{SITE}/jinja2/environment.py", "templates"),
        (f"{SITE}/django/contrib/sessions/backends/db.py", "sessions"),
        (f"{SITE}/rest_framework/serializers.py", "serializers"),
        (f"{SITE}/django/http/response.py", None),
    ],
)
def test_what_a_frame_outside_the_project_is(file: str, kind: str | None) -> None:
    assert callee_kind(file) == kind


def test_the_package_of_a_file() -> None:
    assert package("/usr/lib/python3.12/json/encoder.py") == "json"
    assert package("/usr/lib/python3.12/copy.py") == "copy"
    assert package(f"{SITE}/requests/sessions.py") == "requests"
