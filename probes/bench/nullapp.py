"""The null app: a Django-free WSGI hello. What a server costs when the application costs nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

READY_PATH = "/__servebench__/ready"
READY_BODY = b"ready\n"
BODY = b"Hello, World!\n"


def _headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = READY_BODY if environ.get("PATH_INFO") == READY_PATH else BODY
    start_response("200 OK", _headers(body))
    return [body]
