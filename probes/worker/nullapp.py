"""The null app: a Django-free WSGI hello. What a server costs when the application costs nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"Hello, World!\n"


HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]


_ASGI_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(k.lower().encode(), v.encode()) for k, v in HEADERS],
}
_ASGI_BODY = {"type": "http.response.body", "body": BODY}


async def asgi_application(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """The null app's ASGI twin: what an ASGI server costs when the application costs nothing."""
    if scope["type"] != "http":
        return
    await send(_ASGI_START)
    await send(_ASGI_BODY)
