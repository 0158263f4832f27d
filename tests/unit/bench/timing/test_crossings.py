"""Under ASGI, the sampled requests' sync<->async crossings, new threads and what crossed, counted in-process.

The project's own ASGI app (settings.test: SecurityMiddleware and CommonMiddleware, both
MiddlewareMixin) and its sync view /probes/trivial/: 7 crossings and 2 new threads per request
(issue 25's count: request_started's sync receivers, each middleware's process_request and
process_response, the view, response.close(); the ThreadSensitiveContext's executor and its joiner).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync

from probes.bench.timing import crossings
from probes.bench.timing.crossings import Tally, add_tally
from probes.bench.timing.layout import NAME_SLOTS, OTHER_NAMES
from probes.bench.timing.reader import difference, read_counters, total
from probes.bench.timing.writer import SAMPLE_PERIOD, ProcessCounters
from probes.worker.hooks import timed_asgi

PER_REQUEST = {
    "signal:request_started": 1,
    "middleware:SecurityMiddleware.process_request": 1,
    "middleware:SecurityMiddleware.process_response": 1,
    "middleware:CommonMiddleware.process_request": 1,
    "middleware:CommonMiddleware.process_response": 1,
    "view:probes.views.trivial": 1,
    "call:HttpResponse.close": 1,
}


@pytest.fixture(autouse=True)
def never_left_installed() -> Iterator[None]:
    originals = (SyncToAsync.__call__, AsyncToSync.__call__, threading.Thread.start)
    yield
    crossings.uninstall()
    assert (SyncToAsync.__call__, AsyncToSync.__call__, threading.Thread.start) == originals


def scope(path: str) -> dict[str, Any]:
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
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, path: str = "/probes/trivial/") -> int:
    status, delivered = 0, False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Future()  # no disconnect: Django cancels this listener once it answered
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope(path), receive, send)
    return status


def project_app() -> Any:
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def test_each_sampled_request_counts_its_crossings_new_threads_and_what_crossed(tmp_path: Path) -> None:
    wrapped = timed_asgi(project_app(), tmp_path, django=True)
    assert SyncToAsync.__call__ is not crossings._originals[0][2]  # installed for the timed Django app

    async def main() -> None:
        for _ in range(4 * SAMPLE_PERIOD):
            assert await call(wrapped) == 200

    asyncio.run(main())
    counted = total(read_counters(tmp_path))
    # 1 in 16, and every one after a request slower than 5 ms (a loaded machine): at least 4.
    n = counted.counted_requests
    assert counted.requests == 4 * SAMPLE_PERIOD and n >= 4
    assert (counted.crossings, counted.new_threads) == (n * 7, n * 2)
    assert counted.crossed == {name: n * count for name, count in PER_REQUEST.items()}


def test_requests_interleaved_on_the_loop_count_only_the_sampled_ones(tmp_path: Path) -> None:
    """16 requests at once on one loop, one of them sampled: its 7 crossings, none of its neighbours'."""
    wrapped = timed_asgi(project_app(), tmp_path, django=True)

    async def main() -> None:
        assert set(await asyncio.gather(*(call(wrapped) for _ in range(SAMPLE_PERIOD)))) == {200}

    asyncio.run(main())
    counted = total(read_counters(tmp_path))
    assert (counted.requests, counted.counted_requests) == (SAMPLE_PERIOD, 1)
    assert (counted.crossings, counted.new_threads) == (7, 2)
    assert counted.crossed == PER_REQUEST


def test_an_async_view_crosses_once_less(tmp_path: Path) -> None:
    wrapped = timed_asgi(project_app(), tmp_path, django=True)

    async def main() -> None:
        for _ in range(SAMPLE_PERIOD):
            assert await call(wrapped, "/probes/trivial-async/") == 200

    asyncio.run(main())
    counted = total(read_counters(tmp_path))
    n = counted.counted_requests
    assert n >= 1
    assert (counted.crossings, counted.new_threads) == (n * 6, n * 2)
    assert "view:probes.views.trivial" not in counted.crossed


def test_the_null_app_and_the_wrapper_asked_not_to_count_install_nothing(tmp_path: Path) -> None:
    from probes.worker.nullapp import asgi_application

    originals = (SyncToAsync.__call__, threading.Thread.start)
    timed_asgi(asgi_application, tmp_path, django=False)
    uncounted = timed_asgi(project_app(), tmp_path, django=True, count_crossings=False)
    assert (SyncToAsync.__call__, threading.Thread.start) == originals
    assert not uncounted.counts_crossings


def test_the_names_table_is_bounded_and_read_per_window(tmp_path: Path) -> None:
    counters = ProcessCounters(tmp_path)
    tally = Tally()
    tally.crossings, tally.threads = 40, 2
    tally.names = [f"call:f{index}" for index in range(40)]
    add_tally(counters, tally)
    before = read_counters(tmp_path)
    add_tally(counters, tally)
    [(pid, window)] = difference(before, read_counters(tmp_path)).items()
    assert len(window.crossed) == NAME_SLOTS
    assert window.crossed[OTHER_NAMES] == 40 - (NAME_SLOTS - 1)
    assert window.crossed["call:f0"] == 1
    assert (window.crossings, window.new_threads, window.counted_requests) == (40, 2, 1)
