"""The probe views: known, repeatable work for servebench to measure.

The async twins (trivial-async, sleep-async) are `async def` views: under an
ASGI server they run on the event loop, where a wait (asyncio.sleep) holds no
worker; a sync view under ASGI runs in asgiref's thread instead, which costs.

Each session probe creates a brand-new session per request with its engine
(the classic 0.02 s view); the template probes render the same bytes through
Django's two template backends; the calibration views cost a known amount of
wall time (sleep), CPU (cpu) or serialization (lock).
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.backends.base import BaseEngine
from django.template.backends.django import DjangoTemplates
from django.template.backends.jinja2 import Jinja2

from .conf import lock_dir
from .job.sessions import PROBE_SESSION_AGE_S, probe_store_class

SESSION_ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cache": "django.contrib.sessions.backends.cache",
    "cached-db": "django.contrib.sessions.backends.cached_db",
    "signed-cookies": "django.contrib.sessions.backends.signed_cookies",
}
MAX_MS = 5000
MAX_ITEMS = 10_000
DEFAULT_ITEMS = 300

_HERE = Path(__file__).resolve().parent


class BadParameter(ValueError):
    pass


def _int_param(request: HttpRequest, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be an integer from {low} to {high}, not {value}")
    return value


def _bounded(view: Callable[..., HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Turn a BadParameter into a 400 with its message."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except BadParameter as exc:
            return HttpResponseBadRequest(f"{exc}\n", content_type="text/plain")

    return wrapper


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"Hello, World!\n", content_type="text/plain")


async def trivial_async(request: HttpRequest) -> HttpResponse:
    """trivial's async twin: the same bytes, from an async view."""
    return HttpResponse(b"Hello, World!\n", content_type="text/plain")


def _new_session(engine: str) -> Callable[[HttpRequest], HttpResponse]:
    store_class = probe_store_class(SESSION_ENGINES[engine])

    def view(request: HttpRequest) -> HttpResponse:
        session = store_class()
        session.set_expiry(PROBE_SESSION_AGE_S)
        session["visits"] = 1
        session["user_agent"] = request.headers.get("User-Agent", "")
        session["created"] = time.time()
        session.save()  # a new key: an INSERT, a cache add, or a signature
        response = HttpResponse(b"new session saved\n", content_type="text/plain")
        response.set_cookie(
            settings.SESSION_COOKIE_NAME,
            session.session_key,
            max_age=PROBE_SESSION_AGE_S,
            httponly=True,
            samesite="Lax",
        )
        return response

    view.__name__ = f"session_{engine.replace('-', '_')}"
    return view


session_db = _new_session("db")
session_cache = _new_session("cache")
session_cached_db = _new_session("cached-db")
session_signed_cookies = _new_session("signed-cookies")


@functools.cache
def template_engines() -> dict[str, BaseEngine]:
    """The probes' own template backends, independent of the project's TEMPLATES."""
    return {
        "django": DjangoTemplates(
            {"NAME": "probes-django", "DIRS": [_HERE / "templates"], "APP_DIRS": False, "OPTIONS": {}}
        ),
        "jinja2": Jinja2(
            {
                "NAME": "probes-jinja2",
                "DIRS": [_HERE / "jinja2"],
                "APP_DIRS": False,
                # Django keeps a template's last newline; so must Jinja2 for equal bytes.
                "OPTIONS": {"keep_trailing_newline": True},
            }
        ),
    }


def _render_list(backend: str) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        n = _int_param(request, "n", default=DEFAULT_ITEMS, low=1, high=MAX_ITEMS)
        template = template_engines()[backend].get_template("probes/list.html")
        context = {"title": "servebench", "items": [f"item {i}" for i in range(n)]}
        return HttpResponse(template.render(context))

    view.__name__ = f"template_{backend}"
    return _bounded(view)


template_django = _render_list("django")
template_jinja2 = _render_list("jinja2")


@_bounded
def sleep(request: HttpRequest) -> HttpResponse:
    ms = _int_param(request, "ms", default=20, low=0, high=MAX_MS)
    time.sleep(ms / 1000)
    return HttpResponse(f"slept {ms} ms\n", content_type="text/plain")


async def sleep_async(request: HttpRequest) -> HttpResponse:
    """sleep's async twin: asyncio.sleep, so an event loop serves other requests meanwhile."""
    try:
        ms = _int_param(request, "ms", default=20, low=0, high=MAX_MS)
    except BadParameter as exc:
        return HttpResponseBadRequest(f"{exc}\n", content_type="text/plain")
    await asyncio.sleep(ms / 1000)
    return HttpResponse(f"slept {ms} ms\n", content_type="text/plain")


@_bounded
def cpu(request: HttpRequest) -> HttpResponse:
    ms = _int_param(request, "ms", default=10, low=0, high=MAX_MS)
    # PROBES_CPU_SCALE plants a known slowdown in one settings module (1.03: 3 % more CPU per request), for
    # measuring servebench's own A/B (benchmarks/ab_power.py): the URL stays the same on both sides.
    scale = float(getattr(settings, "PROBES_CPU_SCALE", 1.0))
    # The thread's CPU clock, not the wall clock: under contention the view
    # still costs exactly ms of CPU, and takes longer to get it.
    deadline = time.thread_time() + scale * ms / 1000
    spins = 0
    while time.thread_time() < deadline:
        spins += 1
    return HttpResponse(f"spun {ms} ms of CPU\n", content_type="text/plain")


@_bounded
def status(request: HttpRequest) -> HttpResponse:
    code = _int_param(request, "code", default=200, low=200, high=599)
    # A redirect must name where it goes: servebench reports the Location.
    response = HttpResponse(f"status {code}\n", content_type="text/plain", status=code)
    if 300 <= code < 400:
        response["Location"] = request.path + "?code=200"
    return response


@_bounded
def lock(request: HttpRequest) -> HttpResponse:
    ms = _int_param(request, "ms", default=10, low=0, high=MAX_MS)
    # A new open file description per request: flock then serializes threads
    # of one process as well as worker processes.
    fd = os.open(lock_dir() / "probes-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        time.sleep(ms / 1000)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return HttpResponse(f"held the lock {ms} ms\n", content_type="text/plain")
