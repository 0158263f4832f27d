"""The WSGI timing wrapper: the application's own time, measured inside the server during the load.

The instrument must not change what it measures (DESIGN: "The instrument's own
cost"). Measured here, every touch of a request costs more inside Django than
in a micro-benchmark (the view's working set evicts the wrapper's), and
reading a thread's CPU clock is a system call (~0.7 µs), so requests are
sampled (writer: one in 16, every one after a request slower than 5 ms): every
request is counted (its status too), and a sampled one has its wall time, CPU
time and queue time (nginx's X-Request-Start) measured in the app call, the
body and close(), where Django ends the request. The app's time per request is
the mean of the sampled ones (their count is kept, so the estimate's basis is
visible). Other requests are passed through untouched. Nothing is opened or
kept per thread or per request; the run-queue wait is read from outside at
the window's edges (reader.run_queue_ns); the database timer is put on each
connection once (probes.worker.querytime) and times every query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .writer import Instrument, ProcessCounters, queue_wait_ns

WSGIApp = Callable[..., Iterable[bytes]]


class TimingWrapper(Instrument):
    """WSGI middleware: the app's wall time (and sampled thread CPU) in the app call, the body and close()."""

    __slots__ = ("app", "lists_closed")

    def __init__(self, app: WSGIApp, stats_dir: Path, *, lists_closed: bool = True, shares_cpu: bool = False) -> None:
        super().__init__(stats_dir, shares_cpu=shares_cpu)
        self.app = app
        self.lists_closed = lists_closed  # the server calls close() on a list body (servers.ServerKind)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        counters = self._counters or self.counters()
        left = counters.countdown - 1
        if left > 0:
            # Not sampled (15 requests in 16): counted, and the app's body returned untouched. Inline,
            # not a method of its own: on this path the wrapper adds no call beyond the counter's.
            counters.countdown = left  # (a decrement lost between threads only shifts the sample)
            try:
                result = self.app(environ, start_response)
            except BaseException:
                counters.count(500)
                counters.add_current_exception()
                raise
            counters.count(getattr(result, "status_code", 0))
            return result
        # Sampled: measured, and its body wrapped so that sending it is timed too.
        return self._sampled(counters, environ, start_response)

    def _sampled(
        self, counters: ProcessCounters, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        stamp = environ.get("HTTP_X_REQUEST_START")
        queue_ns = queue_wait_ns(stamp, time.time_ns()) if stamp else -1
        # The CPU clock outside the wall clock's window: its system call is not the app's time.
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            result = self.app(environ, start_response)
        except BaseException:
            wall = time.perf_counter_ns() - wall0
            counters.add_sampled(wall, time.thread_time_ns() - cpu0, queue_ns, 500)
            counters.add_current_exception()
            raise
        wall = time.perf_counter_ns() - wall0
        cpu = time.thread_time_ns() - cpu0
        if self.lists_closed and getattr(result, "streaming", None) is False:
            # A Django response, already rendered: the server gets its chunks as a list (no Python
            # call per chunk), recorded at close().
            body = _Rendered(result)
            body.response, body.counters, body.wall, body.cpu, body.queue_ns = result, counters, wall, cpu, queue_ns
            return body
        if isinstance(result, list) or hasattr(result, "filelike"):
            # Nothing of the app runs while it is sent (e.g. the null app's list, or a file the server
            # may send with sendfile, which a wrapper would hide): recorded now, returned untouched.
            counters.add_sampled(wall, cpu, queue_ns, _status(result))
            return result
        # Anything else (a streamed response, another framework's iterable): its iteration and close()
        # run the app's code, so they are timed too.
        return _TimedBody(result, counters, wall, cpu, queue_ns)


class _Rendered(list):  # type: ignore[type-arg]
    """A sampled request's rendered Django response, as the list of its chunks (no Python call per
    chunk). Its close() is timed too, since Django ends the request there (request_finished closes
    the database connections), and the request is recorded then."""

    __slots__ = ("response", "counters", "wall", "cpu", "queue_ns")
    response: Any
    counters: ProcessCounters
    wall: int
    cpu: int
    queue_ns: int

    def close(self) -> None:
        response = self.response
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            response.close()
        finally:
            wall = self.wall + time.perf_counter_ns() - wall0
            cpu = self.cpu + time.thread_time_ns() - cpu0
            self.counters.add_sampled(wall, cpu, self.queue_ns, response.status_code)


def _status(result: object) -> int:
    """A Django response's status; 0 (unknown) for another WSGI app's body."""
    return getattr(result, "status_code", 0)


class _TimedBody:
    """A sampled request's streamed (or non-Django) body: its iteration and close() are the app's time too."""

    def __init__(self, body: Iterable[bytes], counters: ProcessCounters, wall: int, cpu: int, queue_ns: int) -> None:
        self.body = body
        self.iterator: Iterator[bytes] | None = None
        self.counters = counters
        self.wall_ns, self.cpu_ns = wall, cpu
        self.queue_ns = queue_ns
        self.recorded = False

    def __iter__(self) -> _TimedBody:
        self.iterator = iter(self.body)
        return self

    def __next__(self) -> bytes:
        assert self.iterator is not None
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            return next(self.iterator)
        finally:
            self.wall_ns += time.perf_counter_ns() - wall0
            self.cpu_ns += time.thread_time_ns() - cpu0

    def close(self) -> None:
        cpu0 = time.thread_time_ns()
        wall0 = time.perf_counter_ns()
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            if not self.recorded:
                self.recorded = True
                wall = self.wall_ns + time.perf_counter_ns() - wall0
                cpu = self.cpu_ns + time.thread_time_ns() - cpu0
                self.counters.add_sampled(wall, cpu, self.queue_ns, _status(self.body))
