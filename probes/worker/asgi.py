"""The ASGI entry every ASGI server runs (uvicorn, granian-asgi): probes.worker.wsgi's twin.

The project's own ASGI application, servebench's readiness URL, the lifespan
answered here (Django's ASGIHandler refuses lifespan scopes), and, when
SERVEBENCH_STATS_DIR is set, the ASGI timing wrapper writing the same counters.

Which application: SERVEBENCH_TARGET_APP ("module:callable", an ASGI app) when
set (the ASGI null app uses this); otherwise the project's: the dotted path in
settings.ASGI_APPLICATION when it has one; else `application` of the `asgi`
module beside WSGI_APPLICATION's (startproject writes asgi.py next to wsgi.py);
else django.core.asgi.get_asgi_application(), which is what startproject's
asgi.py holds: a project without asgi.py is served as Django would serve it.
"""

from __future__ import annotations

import os
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ..bench.contract import READY_BODY, READY_PATH, STATS_DIR_ENV
from ..bench.timing.asgi import ASGIApp, Receive, Scope, Send
from .database import use_database_copy
from .hooks import timed_asgi
from .target import named_application


def project_asgi_application() -> tuple[ASGIApp, str]:
    """The project's ASGI application and where it came from (Django set up already)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    dotted = getattr(settings, "ASGI_APPLICATION", None)
    if dotted:
        return import_string(dotted), f"ASGI_APPLICATION {dotted}"
    wsgi_module = (getattr(settings, "WSGI_APPLICATION", None) or "").rpartition(".")[0]
    package = wsgi_module.rpartition(".")[0]
    beside = f"{package}.asgi" if package else "asgi"
    try:
        found = bool(wsgi_module) and find_spec(beside) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        return import_module(beside).application, f"{beside}.application"
    from django.core.asgi import get_asgi_application

    return get_asgi_application(), "django.core.asgi.get_asgi_application()"


def _load_target() -> tuple[ASGIApp, bool]:
    named = named_application()
    if named is not None:
        return named, False
    import django

    use_database_copy()
    django.setup(set_prefix=False)
    return project_asgi_application()[0], True


def _build() -> ASGIApp:
    target, is_django = _load_target()
    stats_dir = os.environ.get(STATS_DIR_ENV)
    return timed_asgi(target, Path(stats_dir), django=is_django) if stats_dir else target


_app = _build()
_READY_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(READY_BODY)).encode())],
}
_READY_BODY = {"type": "http.response.body", "body": READY_BODY}


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: Scope, receive: Receive, send: Send) -> Any:
    kind = scope["type"]
    if kind == "http" and scope["path"] == READY_PATH:
        await send(_READY_START)
        await send(_READY_BODY)
        return None
    if kind == "lifespan":
        await _lifespan(receive, send)
        return None
    return await _app(scope, receive, send)
