"""The WSGI entry every server runs: the project's own application, servebench's
readiness URL (so readiness never depends on the probe URLs), and, when
SERVEBENCH_STATS_DIR is set, the timing wrapper around the application.

Which application: SERVEBENCH_TARGET_APP ("module:callable") when set (the
null app uses this), otherwise the project's WSGI_APPLICATION under
DJANGO_SETTINGS_MODULE. Nothing in the user's settings changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..bench.contract import KIND_ENV, READY_BODY, READY_PATH, STATS_DIR_ENV
from ..bench.servers.kinds import KINDS
from .database import use_database_copy
from .hooks import timed
from .target import named_application

WSGIApp = Callable[..., Iterable[bytes]]


def _load_target() -> tuple[WSGIApp, bool]:
    """The application to serve, and whether it is the Django project's."""
    named = named_application()
    if named is not None:
        return named, False
    import django

    use_database_copy()
    django.setup(set_prefix=False)
    from django.core.servers.basehttp import get_internal_wsgi_application

    return get_internal_wsgi_application(), True


def _build() -> WSGIApp:
    target, is_django = _load_target()
    stats_dir = os.environ.get(STATS_DIR_ENV)
    if not stats_dir:
        return target
    kind = KINDS.get(os.environ.get(KIND_ENV, ""))
    return timed(
        target,
        Path(stats_dir),
        django=is_django,
        lists_closed=kind.closes_list_bodies if kind else True,
        shares_cpu=kind.concurrent_in_worker if kind else False,
    )


_app = _build()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == READY_PATH:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(READY_BODY)))])
        return [READY_BODY]
    return _app(environ, start_response)
