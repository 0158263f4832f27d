"""The null app: a Django-free WSGI hello. What a server costs when the application costs nothing.

Also home of the readiness URL's constants, which the entry module answers itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

READY_PATH = "/__servebench__/ready"
READY_BODY = b"ready\n"
BODY = b"Hello, World!\n"


HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
