"""The timing wrapper put around a WSGI app, with Django's hooks: its queries and the exceptions it handles.

The servers' entry (probes.worker.wsgi) wraps the project's app this way for good;
servebench's own process does it only while it measures the wrapper's cost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..bench.timing.wsgi import TimingWrapper, WSGIApp

if TYPE_CHECKING:  # a WSGI worker never loads the ASGI wrapper (nor asyncio for it)
    from ..bench.timing.asgi import ASGIApp, AsgiTimingWrapper


def timed(
    app: WSGIApp, stats_dir: Path, *, django: bool, lists_closed: bool = True, shares_cpu: bool = False
) -> TimingWrapper:
    """The app inside the timing wrapper; for a Django app, with its queries and exceptions recorded.

    lists_closed, shares_cpu: what the server kind says (servers.ServerKind.closes_list_bodies, .concurrent_in_worker).
    """
    wrapper = TimingWrapper(app, stats_dir, lists_closed=lists_closed, shares_cpu=shares_cpu)
    if django:
        _hook(wrapper)
    return wrapper


def timed_asgi(app: ASGIApp, stats_dir: Path, *, django: bool, count_crossings: bool = True) -> AsgiTimingWrapper:
    """The ASGI app inside the ASGI timing wrapper, with the same Django hooks as timed().

    For a Django app, asgiref's crossings and the threads started are counted on the sampled
    requests (bench.timing.crossings): installed here, in the ASGI worker servebench started with
    timing on, never in the plain app. count_crossings=False: the wrapper without them (their A/B).
    """
    from ..bench.timing import crossings
    from ..bench.timing.asgi import AsgiTimingWrapper

    counting = django and count_crossings and crossings.install()
    if counting:
        name_signals()
    wrapper = AsgiTimingWrapper(app, stats_dir, counts_crossings=counting)
    if django:
        _hook(wrapper)
    return wrapper


def name_signals() -> None:
    """Django's request signals by identity, for the crossings' names ("signal:request_started")."""
    from django.core import signals

    from ..bench.timing.crossings import SIGNAL_NAMES

    for name in ("request_started", "request_finished", "got_request_exception"):
        SIGNAL_NAMES[id(getattr(signals, name))] = name


@contextlib.contextmanager
def timed_in_process(app: WSGIApp, stats_dir: Path) -> Iterator[TimingWrapper]:
    """timed(), for servebench's own process: everything it hooks into Django is undone on exit."""
    from django.core.signals import got_request_exception

    from .querytime import remove_query_timer

    wrapper = TimingWrapper(app, stats_dir)
    timer = _hook(wrapper)
    try:
        yield wrapper
    finally:
        got_request_exception.disconnect(dispatch_uid=_EXCEPTIONS_UID)
        remove_query_timer(timer)


def _hook(wrapper: TimingWrapper | AsgiTimingWrapper) -> Callable[..., Any]:
    """Django's hooks for the wrapper: every query timed, every exception it handles recorded."""
    from django.core.signals import got_request_exception

    from .querytime import install_query_timer

    timer = install_query_timer(lambda: wrapper.counters().add_query)
    got_request_exception.connect(wrapper.record_exception, weak=False, dispatch_uid=_EXCEPTIONS_UID)
    return timer


_EXCEPTIONS_UID = "servebench-exceptions"


def minimal_django_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A Django response and nothing else: what the wrapper's cost is measured on when a view is too slow."""
    from django.http import HttpResponse

    response = HttpResponse(b"ok", content_type="text/plain")
    start_response("200 OK", list(response.items()))
    return response
