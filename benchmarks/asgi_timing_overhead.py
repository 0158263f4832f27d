"""What the ASGI timing wrapper costs, and what a sync view costs under ASGI.

Run from the repository root:  .venv/bin/python benchmarks/asgi_timing_overhead.py [--pairs 21] [--duration 5]

1. In-process: the project's ASGI app (django.core.asgi) driven on one uvloop loop, no socket,
   blocks of calls alternated plain / wrapped (order swapped every pair): process CPU µs per
   request and the wrapper's difference (target: within noise, <= 2 µs as for WSGI). The same
   for trivial (a sync view: asgiref runs it in a thread) against trivial-async: the cost of a
   sync view under ASGI.
2. In-process, what the crossings count costs (bench.timing.crossings): the wrapper on the
   project's /probes/trivial/ (7 crossings, 2 new threads per request) with the counting installed
   and without, blocks alternated; and what a crossing and a request's new threads cost on this
   machine (the figures judge/crossings.py quotes).
3. Under load (benchmarks/timing_overhead.under_load): uvicorn and granian-asgi, 1 worker behind
   nginx, trivial-async, timed and plain servers up at once, windows alternated: the median ratio
   of timed to plain r/s. Target >= 0.98x.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing_overhead import under_load  # noqa: E402  (sets Django up)

from probes.bench.processes.rundir import RunDir
from probes.bench.servers.kinds import KINDS
from probes.bench.timing import crossings
from probes.job.project import host_header
from probes.worker.hooks import timed_asgi

ASYNC_TRIVIAL = "/probes/trivial-async/"
SYNC_TRIVIAL = "/probes/trivial/"


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host_header().encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def _call(app: Callable[..., Any], path: str) -> int:
    status = 0
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Future()  # no disconnect: Django cancels this listener when the response is sent
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(path), receive, send)
    return status


async def _block(app: Callable[..., Any], path: str, calls: int) -> float:
    """Process CPU µs per call over `calls` sequential calls."""
    cpu0 = time.process_time_ns()
    for _ in range(calls):
        await _call(app, path)
    return (time.process_time_ns() - cpu0) / calls / 1000


async def _alternate(a: Callable[..., Any], b: Callable[..., Any], paths: tuple[str, str], *, pairs: int, calls: int):
    assert await _call(a, paths[0]) == 200 and await _call(b, paths[1]) == 200
    for _ in range(calls):  # warm both
        await _call(a, paths[0])
        await _call(b, paths[1])
    diffs, a_us, b_us = [], [], []
    for index in range(pairs):
        if index % 2 == 0:
            first, second = await _block(a, paths[0], calls), await _block(b, paths[1], calls)
        else:
            second, first = await _block(b, paths[1], calls), await _block(a, paths[0], calls)
        a_us.append(first)
        b_us.append(second)
        diffs.append(second - first)
    return statistics.median(a_us), statistics.median(b_us), diffs


def in_process(pairs: int, calls: int) -> None:
    try:
        import uvloop
    except ImportError:
        uvloop = None
    from django.core.asgi import get_asgi_application

    from probes.worker.nullapp import asgi_application as null_app

    plain = get_asgi_application()
    with RunDir() as stats, RunDir() as null_stats:
        wrapped = timed_asgi(plain, stats.path, django=True)
        null_wrapped = timed_asgi(null_app, null_stats.path, django=False)

        async def main() -> None:
            # On the null app the wrapper's own µs are not hidden by Django's ~1 ms per request.
            p, w, diffs = await _alternate(null_app, null_wrapped, ("/", "/"), pairs=pairs, calls=10 * calls)
            print(
                f"in-process ASGI, the null app: plain {p:.2f} µs CPU per request (the driver's own), wrapped"
                f" {w:.2f}: the wrapper adds {statistics.median(diffs):+.2f} µs (range {min(diffs):+.2f} to"
                f" {max(diffs):+.2f}; target <= 2 µs)"
            )
            p, w, diffs = await _alternate(plain, wrapped, (ASYNC_TRIVIAL, ASYNC_TRIVIAL), pairs=pairs, calls=calls)
            print(
                f"in-process ASGI, {ASYNC_TRIVIAL}: plain {p:.1f} µs CPU per request, wrapped {w:.1f}: the wrapper adds"
                f" {statistics.median(diffs):+.2f} µs (range {min(diffs):+.2f} to {max(diffs):+.2f}; {pairs} pairs of"
                f" {calls} calls; {p / w:.3f}x the plain app's throughput per CPU second; target >= 0.98x)"
            )
            s, a, diffs = await _alternate(plain, plain, (SYNC_TRIVIAL, ASYNC_TRIVIAL), pairs=pairs, calls=calls)
            print(
                f"in-process ASGI, a sync view (asgiref's thread): {SYNC_TRIVIAL} {s:.1f} µs CPU per request,"
                f" {ASYNC_TRIVIAL} {a:.1f} µs: the sync view costs {s - a:+.1f} µs more ({s / a:.2f}x)"
            )

        runner = uvloop.run if uvloop is not None else asyncio.run
        runner(main())
        with RunDir() as counted_stats, RunDir() as uncounted_stats:
            counted = timed_asgi(plain, counted_stats.path, django=True)
            uncounted = timed_asgi(plain, uncounted_stats.path, django=True, count_crossings=False)
            runner(_counting_ab(counted, uncounted, pairs=pairs, calls=calls))
            _counting_micro()
            runner(_micro_costs())


async def _counting_ab(counted: Any, uncounted: Any, *, pairs: int, calls: int) -> None:
    """The wrapper with and without the crossings' counting, blocks alternated (installed only for its own)."""
    await _call(counted, SYNC_TRIVIAL)
    diffs, with_us, without_us = [], [], []
    for index in range(pairs):
        measured = {}
        for counting in (True, False) if index % 2 == 0 else (False, True):
            if counting:
                crossings.install()
            else:
                crossings.uninstall()
            await _block(counted if counting else uncounted, SYNC_TRIVIAL, calls // 5)  # warm this side
            measured[counting] = await _block(counted if counting else uncounted, SYNC_TRIVIAL, calls)
        crossings.uninstall()
        with_us.append(measured[True])
        without_us.append(measured[False])
        diffs.append(measured[True] - measured[False])
    w, wo = statistics.median(with_us), statistics.median(without_us)
    print(
        f"in-process ASGI, {SYNC_TRIVIAL} counting crossings (1 request in 16): with {w:.1f} µs CPU per request,"
        f" without {wo:.1f}: counting adds {statistics.median(diffs):+.2f} µs (range {min(diffs):+.2f} to"
        f" {max(diffs):+.2f}; {pairs} pairs of {calls} calls; {wo / w:.3f}x the throughput per CPU second)"
    )


def _counting_micro(rounds: int = 200_000) -> None:
    """The counting's own CPU, without Django's ~1 ms around it: per crossing of an unsampled request
    (a call and a ContextVar.get more: the coroutine is made, then closed unawaited) and per sampled
    request (its Tally, 7 names, add_tally)."""
    from asgiref.sync import SyncToAsync

    from probes.bench.timing.crossings import TALLY, Tally, add_tally, crossing_name
    from probes.bench.timing.writer import ProcessCounters

    crossing = SyncToAsync(print)

    def per_call_ns() -> float:
        cpu0 = time.process_time_ns()
        for _ in range(rounds):
            crossing().close()
        return (time.process_time_ns() - cpu0) / rounds

    diffs = []
    for index in range(11):
        with crossings.installed():
            counted = per_call_ns()
        plain = per_call_ns()
        diffs.append(counted - plain if index % 2 == 0 else counted - plain)
    unsampled_ns = statistics.median(diffs)
    with RunDir() as stats:
        counters = ProcessCounters(stats.path)
        names = [f"middleware:M{i}.process_request" for i in range(5)] + ["view:v.v", "call:HttpResponse.close"]
        cpu0 = time.process_time_ns()
        for _ in range(rounds // 10):
            tally = Tally()
            token = TALLY.set(tally)
            for name in names:
                tally.crossings += 1
                tally.names.append(crossing_name(print, ()) and name)
            TALLY.reset(token)
            add_tally(counters, tally)
        sampled_ns = (time.process_time_ns() - cpu0) / (rounds // 10)
    per_request_ns = 7 * unsampled_ns + sampled_ns / 16
    print(
        f"the counting's own CPU: {unsampled_ns:+.0f} ns per crossing of an unsampled request (range"
        f" {min(diffs):+.0f} to {max(diffs):+.0f}), {sampled_ns / 1000:.1f} µs per sampled request (7 crossings):"
        f" {per_request_ns / 1000:.2f} µs per request at 7 crossings and 1 in 16 sampled"
    )


async def _micro_costs(rounds: int = 400) -> None:
    """CPU of one crossing on an existing thread, and of a request's ThreadSensitiveContext threads."""
    import threading

    from asgiref.sync import ThreadSensitiveContext, sync_to_async

    def nothing() -> None:
        return None

    async def settled() -> None:  # the joining thread ends on its own: its CPU belongs to the block
        while threading.active_count() > 1:
            await asyncio.sleep(0.001)

    crossing_us, context_us = [], []
    for _ in range(7):
        async with ThreadSensitiveContext():
            await sync_to_async(nothing)()
            cpu0 = time.process_time_ns()
            for _ in range(rounds):
                await sync_to_async(nothing)()
            crossing_us.append((time.process_time_ns() - cpu0) / rounds / 1000)
        await settled()
        cpu0 = time.process_time_ns()
        for _ in range(rounds // 4):
            async with ThreadSensitiveContext():
                await sync_to_async(nothing)()
        await settled()
        context_us.append((time.process_time_ns() - cpu0) / (rounds // 4) / 1000)
    crossing, context = statistics.median(crossing_us), statistics.median(context_us)
    print(
        f"micro: a crossing on an existing thread {crossing:.0f} µs CPU (range {min(crossing_us):.0f}-"
        f"{max(crossing_us):.0f}); a request's 2 new threads (ThreadSensitiveContext's executor and its"
        f" joiner) {context - crossing:.0f} µs (range {min(context_us) - crossing:.0f}-"
        f"{max(context_us) - crossing:.0f}), {(context - crossing) / 2:.0f} µs a thread"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="timed/plain windows per kind under load (alternated)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per window")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--in-process-pairs", type=int, default=21)
    parser.add_argument("--calls", type=int, default=500, help="calls per in-process block")
    parser.add_argument("--no-load", action="store_true", help="in-process figures only")
    args = parser.parse_args()
    in_process(args.in_process_pairs, args.calls)
    if not args.no_load:
        kinds = [name for name, kind in KINDS.items() if kind.interface == "asgi" and kind.missing() is None]
        under_load(kinds, pairs=args.pairs, duration_s=args.duration, concurrency=args.concurrency, path=ASYNC_TRIVIAL)


if __name__ == "__main__":
    main()
