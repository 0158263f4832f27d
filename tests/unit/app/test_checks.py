"""Each preflight warning fires on settings that deserve it and stays silent on the bench settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import checks

from probes.checks import preflight

ROOT = Path(__file__).resolve().parents[3]
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "shop",
    "HOST": "127.0.0.1",
    "PORT": "5432",
}


def ids(workers: int | None = None) -> list[str]:
    return [warning["id"] for warning in preflight(workers)]


def with_sessions(settings: Any, engine: str) -> None:
    settings.MIDDLEWARE = [*django_settings.MIDDLEWARE, SESSION_MIDDLEWARE]
    settings.SESSION_ENGINE = engine


def override_databases(settings: Any, **extra: dict[str, Any]) -> None:
    databases = {**deepcopy(django_settings.DATABASES), **extra}
    # Django warns on any DATABASES override; here only the checks read it.
    with pytest.warns(UserWarning, match="Overriding setting DATABASES"):
        settings.DATABASES = databases


def test_the_test_settings_raise_none() -> None:
    assert preflight() == []


@pytest.mark.parametrize(
    ("module", "expected"),
    [("settings.bench", []), ("settings.test", []), ("settings.debug", ["servebench.W001", "servebench.W002"])],
)
def test_the_shipped_settings_raise_exactly_what_applies(module: str, expected: list[str]) -> None:
    script = "import django, json; django.setup(); from probes.checks import preflight; print(json.dumps(preflight()))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": module}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert [warning["id"] for warning in json.loads(result.stdout)] == expected


def test_debug_true(settings: Any) -> None:
    settings.DEBUG = True
    [warning] = preflight()
    assert warning["id"] == "servebench.W001"
    assert warning["level"] == "warning"
    assert "DEBUG = False" in warning["hint"]


@pytest.mark.parametrize(
    ("middleware", "code"),
    [
        ("debug_toolbar.middleware.DebugToolbarMiddleware", "servebench.W002"),
        ("silk.middleware.SilkyMiddleware", "servebench.W003"),
    ],
)
def test_profiler_middleware(settings: Any, middleware: str, code: str) -> None:
    settings.MIDDLEWARE = [middleware, *django_settings.MIDDLEWARE]
    [warning] = preflight()
    assert warning["id"] == code
    assert middleware in warning["hint"]


@pytest.mark.parametrize("engine", ["db", "cached_db"])
def test_sqlite_database_sessions_with_the_middleware(settings: Any, engine: str) -> None:
    with_sessions(settings, f"django.contrib.sessions.backends.{engine}")
    assert ids() == ["servebench.W004"]
    assert ids(workers=2) == ["servebench.W004"]
    # One worker is alone with the write lock: nothing to serialize.
    assert ids(workers=1) == []


def test_database_sessions_without_the_middleware_cost_nothing(settings: Any) -> None:
    # The demo: SESSION_ENGINE is Django's default ("db") but no middleware runs it.
    assert django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert SESSION_MIDDLEWARE not in django_settings.MIDDLEWARE
    settings.MIDDLEWARE = list(django_settings.MIDDLEWARE)
    assert ids() == []


def test_database_sessions_on_a_database_server_are_fine(settings: Any) -> None:
    with_sessions(settings, "django.contrib.sessions.backends.db")
    override_databases(settings, default={**POSTGRES, "CONN_MAX_AGE": 60})
    assert ids() == []


def test_conn_max_age_zero_on_postgresql(settings: Any) -> None:
    override_databases(settings, shop=POSTGRES)  # CONN_MAX_AGE left out: Django's default is 0
    [warning] = preflight(workers=1)
    assert warning["id"] == "servebench.W005"
    assert "'shop'" in warning["msg"]
    assert 'DATABASES["shop"]["CONN_MAX_AGE"]' in warning["hint"]


@pytest.mark.parametrize(
    "database",
    [
        {**POSTGRES, "CONN_MAX_AGE": 60},
        {**POSTGRES, "CONN_MAX_AGE": None},
        {**POSTGRES, "CONN_MAX_AGE": 0, "OPTIONS": {"pool": True}},
        {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "CONN_MAX_AGE": 0},
    ],
    ids=["max-age-60", "persistent", "pool", "sqlite"],
)
def test_reused_connections_and_sqlite_raise_no_conn_max_age_warning(settings: Any, database: dict[str, Any]) -> None:
    override_databases(settings, shop=database)
    assert ids() == []


@pytest.mark.parametrize("engine", ["cache", "cached_db"])
def test_sessions_in_a_per_process_cache(settings: Any, engine: str) -> None:
    with_sessions(settings, f"django.contrib.sessions.backends.{engine}")
    settings.SESSION_CACHE_ALIAS = "default"  # LocMemCache in the demo settings
    expected = ["servebench.W006"] if engine == "cache" else ["servebench.W004", "servebench.W006"]
    assert sorted(ids()) == expected
    assert ids(workers=1) == []
    [warning] = [w for w in preflight() if w["id"] == "servebench.W006"]
    assert "LocMemCache" in warning["msg"]


def test_sessions_in_a_shared_cache_are_fine(settings: Any) -> None:
    with_sessions(settings, "django.contrib.sessions.backends.cache")
    settings.SESSION_CACHE_ALIAS = "sessions"  # memcached
    assert ids() == []


def test_silenced_checks_are_left_out(settings: Any) -> None:
    settings.DEBUG = True
    settings.SILENCED_SYSTEM_CHECKS = ["servebench.W001"]
    assert ids() == []


def test_registered_as_deployment_checks_with_the_tag(settings: Any) -> None:
    settings.DEBUG = True
    assert checks.registry.registry.tag_exists("servebench", include_deployment_checks=True)
    found = checks.run_checks(tags=["servebench"], include_deployment_checks=True)
    assert [message.id for message in found] == ["servebench.W001"]
    # Not part of a plain `check` (runserver): a project in development runs with DEBUG on purpose.
    assert not checks.registry.registry.tag_exists("servebench")


def test_preflight_is_json_safe(settings: Any) -> None:
    settings.DEBUG = True
    settings.MIDDLEWARE = ["silk.middleware.SilkyMiddleware", *django_settings.MIDDLEWARE, SESSION_MIDDLEWARE]
    warnings = preflight()
    assert json.loads(json.dumps(warnings)) == warnings
    assert {tuple(sorted(w)) for w in warnings} == {("hint", "id", "level", "msg")}
    assert [w["id"] for w in warnings] == ["servebench.W001", "servebench.W003", "servebench.W004"]


def _urlconf(monkeypatch: pytest.MonkeyPatch, settings: Any, urlpatterns: list[Any]) -> None:
    """A URLconf module of its own for one test."""
    import types

    module = types.ModuleType("tests._exposure_urls")
    module.urlpatterns = urlpatterns  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    settings.ROOT_URLCONF = module.__name__


def _exposure_warnings() -> list[checks.CheckMessage]:
    # Not a deployment check: plain `manage.py check` (and runserver) must report it.
    return [m for m in checks.run_checks(tags=[checks.Tags.security]) if m.id == "servebench.W007"]


@pytest.mark.parametrize(
    ("debug", "hosts", "flagged"),
    [
        (False, ["shop.example.com"], True),
        (False, ["127.0.0.1", "*"], True),
        (False, ["127.0.0.1", "localhost", "[::1]"], False),
        (False, [], False),
        (True, ["shop.example.com"], False),
    ],
)
def test_probe_views_mounted_in_production_are_flagged(
    settings: Any, debug: bool, hosts: list[str], flagged: bool
) -> None:
    settings.DEBUG = debug
    settings.ALLOWED_HOSTS = hosts
    found = _exposure_warnings()
    assert [m.id for m in found] == (["servebench.W007"] if flagged else [])
    if flagged:
        assert "/probes/" in found[0].msg and "127.0.0.1, localhost and [::1]" in found[0].hint


def test_a_nested_include_is_found(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    from django.urls import include, path

    _urlconf(monkeypatch, settings, [path("internal/", include([path("bench/", include("probes.urls"))]))])
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    [warning] = _exposure_warnings()
    assert "at /internal/bench/" in warning.msg


def test_a_urlconf_without_the_probes_is_not_flagged(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    from django.http import HttpResponse
    from django.urls import path

    _urlconf(monkeypatch, settings, [path("shop/", lambda request: HttpResponse("ok"))])
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    assert _exposure_warnings() == []


def test_manage_py_check_reports_the_exposure() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.bench"}
    script = (
        "import django; from django.conf import settings; django.setup();"
        " settings.ALLOWED_HOSTS = ['shop.example.com'];"
        " from django.core.management import call_command; call_command('check')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert "servebench.W007" in result.stderr + result.stdout
