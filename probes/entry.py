"""The WSGI entry every server runs: the project's own application, plus
servebench's readiness URL, so readiness never depends on the probe URLs.

Which application: SERVEBENCH_TARGET_APP ("module:callable") when set,
otherwise the project's WSGI_APPLICATION under DJANGO_SETTINGS_MODULE.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

from .bench.nullapp import READY_BODY, READY_PATH


def _load_target() -> Callable[..., Iterable[bytes]]:
    target = os.environ.get("SERVEBENCH_TARGET_APP")
    if target:
        module, _, attr = target.partition(":")
        return getattr(import_module(module), attr or "application")  # type: ignore[no-any-return]
    import django

    django.setup(set_prefix=False)
    from django.core.servers.basehttp import get_internal_wsgi_application

    return get_internal_wsgi_application()  # type: ignore[no-any-return]


_target = _load_target()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == READY_PATH:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(READY_BODY)))])
        return [READY_BODY]
    return _target(environ, start_response)
