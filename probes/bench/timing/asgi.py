"""The ASGI timing wrapper, the WSGI one's twin: the same counters files (writer), read by the same reader.

The same figures as the WSGI wrapper, at the same cost: every request counted
with its status (a 5xx too), one in 16 measured (every one after a request
slower than 5 ms), the rest passed on with nothing but a counter and the
status read from `http.response.start`.

What the figures mean when tasks interleave on one event loop:
- wall: from the app's call to its return, which under ASGI comes after the
  last body message was sent (the WSGI wrapper's wall ends at close(), alike);
  time spent waiting for the loop while other requests run is in it, and so
  is Django's response.close(), which its ASGI handler runs in an asgiref
  thread after the answer left: the app's wall may exceed the client's latency.
- CPU: a request's own CPU cannot be told apart from its neighbours' on the
  same thread, nor from asgiref's thread that runs a sync view. Under ASGI,
  the app's CPU per request is defined as the serving process's CPU per
  request: at each sampled request, the process CPU (all its threads) since
  the previous sample divided by the requests completed since. Summed over a
  window it is the worker's CPU over the window divided by its requests; it
  holds the server's own work on the same loop (parsing, the protocol), so
  under ASGI the `server` role keeps only what runs outside the workers.
- queue: nginx's X-Request-Start, as for WSGI.
- crossings (a sync Django under asgiref): on the sampled requests only, the
  sync<->async crossings, the threads started and what crossed (crossings.py),
  when the wrapper counts them (`counts_crossings`: a Django app).
- event-loop lag: one periodic tick per loop (every 50 ms) records how late
  it ran; a loop busy with a view's CPU (or a blocking call in an async view)
  runs it late. The mean includes the loop timer's resolution (~1 ms with
  uvloop), which an idle loop shows.
Nothing is allocated per request beyond one closure for the status, which
dies with the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from .crossings import TALLY, Tally, add_tally
from .writer import Instrument, ProcessCounters, queue_wait_ns

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LAG_PERIOD_S = 0.05
_STAMP = b"x-request-start"


async def _measure_lag(counters: ProcessCounters, period_s: float = LAG_PERIOD_S) -> None:
    """Forever: sleep one period on the loop, record how much later than asked it woke."""
    clock = time.perf_counter_ns
    period_ns = int(period_s * 1e9)
    while True:
        start = clock()
        await asyncio.sleep(period_s)
        counters.add_loop_lag(max(0, clock() - start - period_ns))


class AsgiTimingWrapper(Instrument):
    """ASGI middleware: counts every HTTP request, measures one in 16 (wall, the process's CPU share, queue)."""

    __slots__ = ("app", "_lag_task", "counts_crossings")

    def __init__(self, app: ASGIApp, stats_dir: Path, *, counts_crossings: bool = False) -> None:
        # One event loop: a CPU share, not a thread clock.
        super().__init__(stats_dir, shares_cpu=True)
        self.app = app
        # A tally per sampled request, for crossings.install()'s counting functions to fill.
        self.counts_crossings = counts_crossings
        self._lag_task: asyncio.Task[None] | None = None

    def forget_counters(self) -> None:
        """In a forked child: the parent's counters and lag probe are not this process's."""
        super().forget_counters()
        self._lag_task = None

    def _start_lag_probe(self, counters: ProcessCounters) -> None:
        # One task per process (the servers here run one loop per worker), kept for its lifetime.
        self._lag_task = asyncio.get_running_loop().create_task(_measure_lag(counters))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counters = self._counters or self.counters()
        if self._lag_task is None:
            self._start_lag_probe(counters)
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        left = counters.countdown - 1
        if left > 0:  # not sampled: counted with its status, nothing measured
            counters.countdown = left
            try:
                await self.app(scope, receive, send_status)
            except BaseException:
                counters.count(500)
                counters.add_current_exception()
                raise
            counters.count(status)
            return
        queue_ns = -1
        for name, value in scope.get("headers") or ():
            if name == _STAMP:
                queue_ns = queue_wait_ns(value.decode("latin-1"), time.time_ns())
                break
        tally = Tally() if self.counts_crossings else None
        token = TALLY.set(tally) if tally is not None else None
        wall0 = time.perf_counter_ns()
        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            wall = time.perf_counter_ns() - wall0
            counters.add_sampled(wall, 0, queue_ns, 500)  # its CPU: the process's share (shares_cpu)
            counters.add_current_exception()
            raise
        finally:
            if token is not None:
                TALLY.reset(token)
        wall = time.perf_counter_ns() - wall0
        counters.add_sampled(wall, 0, queue_ns, status)
        if tally is not None:
            add_tally(counters, tally)
