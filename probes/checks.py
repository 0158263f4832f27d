"""Preflight checks: settings that would make servebench's figures lie, or cap them.

Django system checks tagged "servebench", ids servebench.W001...; `preflight()`
gives the command the same warnings as JSON-safe dicts to print and record.

They are registered as deployment checks (`manage.py check --deploy --tag
servebench` lists them): a project in development runs with DEBUG on and the
toolbar on purpose, and its runserver must not nag about benchmarks. The
servebench command shows them itself, before it measures. SILENCED_SYSTEM_CHECKS
silences them as any other check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks import CheckMessage

TAG = "servebench"
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
DB_SESSION_ENGINES = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}
CACHE_SESSION_ENGINES = {
    "django.contrib.sessions.backends.cache",
    "django.contrib.sessions.backends.cached_db",
}
# Each worker process has its own copy: a session written by one is unknown to the others.
PER_PROCESS_CACHES = {"django.core.cache.backends.locmem.LocMemCache"}
# Database servers reached over a connection (SQLite is a file in the process).
CLIENT_SERVER_ENGINES = ("postgresql", "postgis", "mysql", "oracle")
PROFILER_MIDDLEWARE = {
    "W002": ("debug_toolbar.middleware.DebugToolbarMiddleware", "django-debug-toolbar"),
    "W003": ("silk.middleware.SilkyMiddleware", "django-silk"),
}
# Only matter when several worker processes share (or fail to share) the store.
MULTI_WORKER_IDS = {"servebench.W004", "servebench.W006"}
LEVELS = {
    checks.DEBUG: "debug",
    checks.INFO: "info",
    checks.WARNING: "warning",
    checks.ERROR: "error",
    checks.CRITICAL: "critical",
}


def _sessions_in_every_request() -> bool:
    """True when SessionMiddleware is installed: then SESSION_ENGINE is paid by every request."""
    return SESSION_MIDDLEWARE in (settings.MIDDLEWARE or [])


def check_debug(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: DEBUG=True keeps every query in memory and slows every request."""
    if not settings.DEBUG:
        return []
    return [
        checks.Warning(
            "DEBUG is True: Django records every SQL query and builds debug pages, so every figure"
            " servebench measures is slower than in production.",
            hint="Run servebench with settings that set DEBUG = False.",
            id="servebench.W001",
        )
    ]


def check_profiler_middleware(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W002/W003: django-debug-toolbar or silk instruments every request."""
    middleware = set(settings.MIDDLEWARE or [])
    return [
        checks.Warning(
            f"{name}'s middleware ({path}) is active: it instruments every request, and the figures"
            " measure the profiler as much as the view.",
            hint=f"Remove {path} from MIDDLEWARE in the settings servebench runs with.",
            id=f"servebench.{code}",
        )
        for code, (path, name) in PROFILER_MIDDLEWARE.items()
        if path in middleware
    ]


def _session_database() -> str:
    """The alias the session model writes to (routers decide)."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.sessions"):
        return "default"
    from django.contrib.sessions.models import Session
    from django.db import router

    return router.db_for_write(Session) or "default"


def check_sqlite_sessions(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W004: database sessions in SQLite, with SessionMiddleware installed.

    The rule: SESSION_ENGINE only costs something when SessionMiddleware runs it
    on every request; without the middleware (servebench's demo) the setting is
    a default nobody pays, and the session probes pick their engine explicitly.
    SQLite admits one writer at a time, so with several workers the session
    writes queue behind each other and throughput stops at 1 / write time.
    """
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES or not _sessions_in_every_request():
        return []
    alias = _session_database()
    engine = settings.DATABASES.get(alias, {}).get("ENGINE", "")
    if not engine.endswith("sqlite3"):
        return []
    return [
        checks.Warning(
            f"Sessions are stored in SQLite (SESSION_ENGINE {settings.SESSION_ENGINE}, database"
            f" {alias!r}): SQLite admits one writer at a time, so with several workers every request"
            " that saves a session waits for the others, and the figures show SQLite's lock, not the"
            " server.",
            hint="Use PostgreSQL or MySQL for the sessions, or SESSION_ENGINE"
            ' "django.contrib.sessions.backends.cache" with a shared cache (memcached, Redis).',
            id="servebench.W004",
        )
    ]


def check_conn_max_age(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W005: CONN_MAX_AGE=0 on a database server opens a new connection for every request."""
    messages: list[CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        engine = database.get("ENGINE", "")
        if not any(name in engine for name in CLIENT_SERVER_ENGINES):
            continue
        # A connection pool (Django >= 5.1, PostgreSQL) requires CONN_MAX_AGE=0 and reuses connections.
        if (database.get("OPTIONS") or {}).get("pool"):
            continue
        if database.get("CONN_MAX_AGE", 0) != 0:
            continue
        messages.append(
            checks.Warning(
                f"Database {alias!r} ({engine}) has CONN_MAX_AGE=0: every request opens and closes a"
                " connection (a new server process for PostgreSQL), and that set-up cost is part of"
                " every figure.",
                hint=f'Set DATABASES["{alias}"]["CONN_MAX_AGE"] to e.g. 60 (with CONN_HEALTH_CHECKS = True)'
                ' or, on PostgreSQL, OPTIONS = {"pool": True}.',
                id="servebench.W005",
            )
        )
    return messages


def check_per_process_session_cache(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W006: cache-backed sessions in a per-process cache (LocMemCache), with SessionMiddleware installed.

    Same rule as W004: only when SessionMiddleware makes SESSION_ENGINE part of
    every request. Each worker process has its own LocMemCache: a session saved
    by one worker is missing in the others (users logged out at random), and a
    dict in memory is far cheaper than the shared cache production needs.
    """
    if settings.SESSION_ENGINE not in CACHE_SESSION_ENGINES or not _sessions_in_every_request():
        return []
    alias = settings.SESSION_CACHE_ALIAS
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Warning(
            f"Sessions are cached in {backend.rsplit('.', 1)[-1]} (cache {alias!r}), which each worker"
            " process keeps for itself: with several workers a session saved by one is unknown to the"
            " others, and the figures show a dict in memory, not a shared cache.",
            hint=f'Point SESSION_CACHE_ALIAS ("{alias}") at a shared cache such as memcached'
            " (PyMemcacheCache) or Redis (RedisCache).",
            id="servebench.W006",
        )
    ]


PROBE_URLCONF = "probes.urls"
# Hosts that only this machine can send: with nothing else in ALLOWED_HOSTS, Django answers 400
# to every request that names the site from outside ("testserver": what Django's test runner adds).
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", ".localhost", "testserver"}


def _mounted_prefixes(patterns: Iterable[Any], prefix: str = "") -> list[str]:
    """Where probes.urls is included in a URLconf (its route prefixes), searched recursively."""
    from django.urls import URLResolver

    found = []
    for pattern in patterns:
        if not isinstance(pattern, URLResolver):
            continue
        route = prefix + str(pattern.pattern)
        module = pattern.urlconf_name
        name = module if isinstance(module, str) else getattr(module, "__name__", "")
        if name == PROBE_URLCONF:
            found.append(route)
            continue
        try:
            found += _mounted_prefixes(pattern.url_patterns, route)
        except Exception:  # an include that cannot be imported is reported by Django's own checks
            continue
    return found


def check_probes_exposed(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """W007: the probe views (sleep, cpu, lock: seconds of a worker each) mounted where others can reach them.

    DEBUG=False with a host other than loopback in ALLOWED_HOSTS looks like a deployment:
    anyone who can reach it can tie up every worker with /sleep/?ms=5000 or burn the CPUs
    with /cpu/. Run with DEBUG on and servebench's own loopback settings, or remove the include.
    """
    if settings.DEBUG:
        return []
    public = sorted(host for host in settings.ALLOWED_HOSTS if host not in LOOPBACK_HOSTS)
    if not public:
        return []
    from django.urls import get_resolver

    try:
        root = settings.ROOT_URLCONF
        prefixes = [""] if root == PROBE_URLCONF else _mounted_prefixes(get_resolver().url_patterns)
    except Exception:  # a broken ROOT_URLCONF is reported by Django's own URL checks
        return []
    if not prefixes:
        return []
    return [
        checks.Warning(
            f"The servebench probe views ({PROBE_URLCONF}, at /{prefixes[0]}) are mounted with DEBUG=False and"
            f" ALLOWED_HOSTS {', '.join(public)}: anyone who reaches the site can hold a worker for seconds"
            " (sleep, lock) or burn CPU (cpu) per request.",
            hint=f"Include {PROBE_URLCONF} only in settings used for benchmarking, with ALLOWED_HOSTS limited to"
            " 127.0.0.1, localhost and [::1].",
            id="servebench.W007",
        )
    ]


CHECKS = (
    check_debug,
    check_profiler_middleware,
    check_sqlite_sessions,
    check_conn_max_age,
    check_per_process_session_cache,
)


def register() -> None:
    """Register the checks with Django (called from ProbesConfig.ready; registering twice is harmless)."""
    for check in CHECKS:
        checks.register(check, TAG, deploy=True)
    # A security problem, not a benchmark one: every `manage.py check` (and runserver,
    # migrate, the servebench command itself) reports it, not only --deploy.
    checks.register(check_probes_exposed, checks.Tags.security)


def preflight(workers: int | None = None) -> list[dict[str, str]]:
    """The servebench warnings as JSON-safe dicts {id, level, msg, hint}; workers == 1 drops the multi-worker ones."""
    # The registry keeps checks in a set: sort for a stable order in the output and the JSON.
    messages = sorted(checks.run_checks(tags=[TAG], include_deployment_checks=True), key=lambda m: m.id or "")
    return [
        {
            "id": message.id or "",
            "level": LEVELS.get(message.level, str(message.level)),
            "msg": message.msg,
            "hint": message.hint or "",
        }
        for message in messages
        if not message.is_silenced() and not (workers == 1 and message.id in MULTI_WORKER_IDS)
    ]
