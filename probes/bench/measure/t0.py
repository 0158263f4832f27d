"""The view's cost in isolation: the WSGI application called in-process, no socket.

This is the floor every server result is compared against: 1 / wall time is
the most one worker can ever do, cores / CPU time the most the machine can.
"""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from ..loadgen.requests import Request
from ..model.results import InstrumentCost, ViewCost
from ..model.stats import median, percentile

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_environ(
    path: str,
    *,
    host: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    request: Request | None = None,
) -> dict[str, Any]:
    """A request's WSGI environ, as a server on 127.0.0.1:80 would build it: a GET of path, or what
    `request` says (its method, its body with Content-Type and Content-Length), with the load's headers."""
    parts = urlsplit(path)
    request = request or Request(path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(parts.path, encoding="latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "HTTP_USER_AGENT": "servebench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    for name, value in request.body_headers():  # not HTTP_: WSGI names these two on their own
        environ[name.upper().replace("-", "_")] = value
    return environ


def call_once(
    app: WSGIApp,
    path: str,
    *,
    host: str,
    headers: Sequence[tuple[str, str]] = (),
    request: Request | None = None,
) -> tuple[int, int, int, int]:
    """One request: (status, body bytes, wall ns, thread CPU ns), response iterated and closed. With the
    load's headers (a --login-as cookie) and its method and body: t0 of the request the load sends."""
    environ = wsgi_environ(path, host=host, headers=dict(headers), request=request)
    status_line = ""

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        nonlocal status_line
        status_line = status
        return lambda data: None

    wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
    result = app(environ, start_response)
    try:
        size = sum(len(chunk) for chunk in result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    wall, cpu = time.perf_counter_ns() - wall0, time.thread_time_ns() - cpu0
    return int(status_line.split(" ", 1)[0] or 0), size, wall, cpu


def measure_view_cost(
    app: WSGIApp,
    *,
    name: str,
    path: str,
    host: str = "127.0.0.1",
    headers: Sequence[tuple[str, str]] = (),
    request: Request | None = None,
    warmup: int = 5,
    min_iterations: int = 30,
    min_time_s: float = 0.5,
    max_iterations: int = 20_000,
    max_time_s: float = math.inf,
) -> ViewCost:
    """Call `path` after a warm-up until both min_iterations and min_time_s are reached, or max_time_s
    would pass (warm-up included) after at least one measured call: a 5 s view is not called 35 times."""
    started = time.monotonic()
    status, size = 0, 0
    for _ in range(warmup):
        status, size, _, _ = call_once(app, path, host=host, headers=headers, request=request)
        if time.monotonic() - started >= max_time_s / 4:  # the rest of the time for measured calls
            break
    walls: list[float] = []
    cpus: list[float] = []
    deadline = time.monotonic() + min_time_s
    while len(walls) < max_iterations and (len(walls) < min_iterations or time.monotonic() < deadline):
        if walls and time.monotonic() - started + walls[-1] / 1e6 > max_time_s:  # the next call would pass it
            break
        status, size, wall_ns, cpu_ns = call_once(app, path, host=host, headers=headers, request=request)
        walls.append(wall_ns / 1000)
        cpus.append(cpu_ns / 1000)
    wall_median = median(walls)
    wall_p90 = percentile(walls, 90)
    return ViewCost(
        name=name,
        path=path,
        status=status,
        iterations=len(walls),
        wall_us_median=wall_median,
        wall_us_p90=wall_p90,
        wall_us_min=min(walls),
        cpu_us_median=median(cpus),
        response_bytes=size,
        spread_pct=100 * (wall_p90 - wall_median) / wall_median if wall_median else 0.0,
    )


def _block_cpu_ns(app: WSGIApp, path: str, host: str, calls: int, sent: dict[str, Any]) -> int:
    start = time.thread_time_ns()
    for _ in range(calls):
        call_once(app, path, host=host, **sent)
    return time.thread_time_ns() - start


def measure_instrument_cost(
    plain: WSGIApp,
    wrapped: WSGIApp,
    *,
    path: str,
    host: str = "127.0.0.1",
    headers: Sequence[tuple[str, str]] = (),
    request: Request | None = None,
    pairs: int = 11,
    block_s: float = 0.08,
    max_calls: int = 3000,
) -> InstrumentCost:
    """The wrapper's own CPU per request: blocks of plain and wrapped calls, alternated (order swapped
    every pair, so a drift of the machine cancels), the median of the per-call differences."""
    sent: dict[str, Any] = {"headers": headers, "request": request}
    for _ in range(5):
        call_once(plain, path, host=host, **sent)
        call_once(wrapped, path, host=host, **sent)
    one_ns = max(1, _block_cpu_ns(plain, path, host, 3, sent) // 3)
    calls = max(1, min(max_calls, int(block_s * 1e9 / one_ns)))
    differences, plain_costs = [], []
    for index in range(pairs):
        order = (plain, wrapped) if index % 2 == 0 else (wrapped, plain)
        costs = {id(app): _block_cpu_ns(app, path, host, calls, sent) / calls / 1000 for app in order}
        differences.append(costs[id(wrapped)] - costs[id(plain)])
        plain_costs.append(costs[id(plain)])
    return InstrumentCost(
        path=path,
        us_per_request=median(differences),
        us_min=min(differences),
        us_max=max(differences),
        pairs=pairs,
        calls_per_block=calls,
        plain_us_per_request=median(plain_costs),
    )
