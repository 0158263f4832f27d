"""The timing wrapper in-process: what it records, what it passes through, and that nothing grows."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.http import HttpResponse, StreamingHttpResponse

from probes.bench.measure.t0 import call_once, measure_instrument_cost
from probes.bench.model.results import InstrumentCost, Suite, ViewCost
from probes.bench.processes.rundir import RunDir
from probes.bench.timing.reader import read_counters, read_exceptions, run_queue_ns, total
from probes.bench.timing.wsgi import TimingWrapper
from probes.report.terminal import sweep_table
from probes.worker.hooks import timed_in_process
from tests.factories import METADATA, gunicorn_run

# A Django response's close() ends the request (request_finished looks at the database).
pytestmark = pytest.mark.django_db


@pytest.fixture
def stats_dir() -> Iterator[Path]:
    with RunDir() as run_dir:
        yield run_dir.path


def _view(status: int = 200) -> object:
    def app(environ: dict[str, object], start_response: object) -> HttpResponse:
        response = HttpResponse(b"hello", status=status)
        start_response(f"{status} X", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return response

    return app


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_every_request_is_counted_and_a_rendered_response_is_served_as_it_is(stats_dir: Path) -> None:
    wrapper = TimingWrapper(_view(), stats_dir)  # type: ignore[arg-type]
    for _ in range(100):
        status, size, _, _ = call_once(wrapper, "/", host="127.0.0.1")
        assert (status, size) == (200, 5)
    counted = total(read_counters(stats_dir))
    assert counted.requests == 100
    # A fast view: one request in 16 measured, and their mean stands for all.
    assert counted.sampled_requests == 100 // 16
    # A view that only computes: its estimated CPU is about its wall time.
    assert 0.5 * counted.app_wall_ns <= counted.app_cpu_ns <= 1.5 * counted.app_wall_ns
    assert counted.server_errors == 0


def test_the_counters_file_is_opened_once_per_process_however_many_threads_start_at_once(stats_dir: Path) -> None:
    """A threaded server's first requests arrive together: a second open would truncate the first's counts."""
    first = TimingWrapper(_view(), stats_dir)  # type: ignore[arg-type]
    for _ in range(3):
        call_once(first, "/", host="127.0.0.1")
    second = TimingWrapper(_view(), stats_dir)  # type: ignore[arg-type]
    barrier = threading.Barrier(8)
    opened: list[object] = []

    def first_request() -> None:
        barrier.wait()
        opened.append(second.counters())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(counters) for counters in opened}) == 1 and opened[0] is first.counters()
    for _ in range(2):
        call_once(second, "/", host="127.0.0.1")
    assert total(read_counters(stats_dir)).requests == 5


def test_a_slow_view_has_every_request_measured(stats_dir: Path) -> None:
    def slow(environ: dict[str, object], start_response: object) -> HttpResponse:
        threading.Event().wait(0.006)
        return HttpResponse(b"late")

    wrapper = TimingWrapper(slow, stats_dir)  # type: ignore[arg-type]
    for _ in range(20):
        call_once(wrapper, "/", host="127.0.0.1")
    counted = total(read_counters(stats_dir))
    assert counted.requests == 20
    assert counted.sampled_requests == 5  # the 16th is slow: every later one is measured
    assert counted.app_wall_ns >= 20 * 6_000_000
    assert counted.app_cpu_ns < counted.app_wall_ns / 2  # it waited, it did not compute


def test_a_streamed_body_is_timed_while_it_is_sent(stats_dir: Path) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            threading.Event().wait(0.002)
            yield b"x"

    wrapper = TimingWrapper(lambda environ, start_response: StreamingHttpResponse(chunks()), stats_dir)
    for _ in range(16):
        call_once(wrapper, "/", host="127.0.0.1")
    counted = total(read_counters(stats_dir))
    assert counted.sampled_requests == 1
    assert counted.app_wall_ns >= 16 * 6_000_000


def test_5xx_and_exceptions_are_counted_and_the_first_distinct_ones_named(stats_dir: Path) -> None:
    def broken(environ: dict[str, object], start_response: object) -> HttpResponse:
        if environ["PATH_INFO"] == "/unavailable/":
            start_response("503 Service Unavailable", [])  # type: ignore[operator]
            return HttpResponse(b"later", status=503)
        raise LookupError("no such thing")

    wrapper = TimingWrapper(broken, stats_dir)
    for _ in range(3):
        with pytest.raises(LookupError):
            call_once(wrapper, "/", host="127.0.0.1")
    assert call_once(wrapper, "/unavailable/", host="127.0.0.1")[0] == 503
    counted = total(read_counters(stats_dir))
    assert (counted.requests, counted.exceptions, counted.server_errors) == (4, 3, 4)
    [seen] = read_exceptions(stats_dir)
    assert (seen.type, seen.message, seen.count) == ("LookupError", "no such thing", 3)
    assert seen.where.endswith(" in broken") and "test_timing_wsgi.py:" in seen.where


def test_a_django_project_has_its_queries_recorded(stats_dir: Path) -> None:
    from django.core.servers.basehttp import get_internal_wsgi_application

    with timed_in_process(get_internal_wsgi_application(), stats_dir) as wrapper:
        for _ in range(3):
            assert call_once(wrapper, "/probes/session-db/", host="127.0.0.1")[0] == 200
    counted = total(read_counters(stats_dir))
    assert counted.requests == 3
    assert counted.db_queries >= 3 and counted.db_ns > 0


def test_measuring_in_process_leaves_nothing_hooked_into_django(stats_dir: Path) -> None:
    from django.core.signals import got_request_exception
    from django.db import connection
    from django.db.backends.signals import connection_created

    receivers = (len(connection_created.receivers), len(got_request_exception.receivers))
    connection.ensure_connection()
    wrappers = list(connection.execute_wrappers)
    with timed_in_process(_view(), stats_dir):  # type: ignore[arg-type]
        assert len(connection.execute_wrappers) == len(wrappers) + 1
    assert (len(connection_created.receivers), len(got_request_exception.receivers)) == receivers
    assert connection.execute_wrappers == wrappers


def test_nothing_grows_per_thread_or_per_request(stats_dir: Path) -> None:
    wrapper = TimingWrapper(_view(), stats_dir)  # type: ignore[arg-type]
    call_once(wrapper, "/", host="127.0.0.1")
    before = _fds()
    for _ in range(50):  # threads come and go, as in flup's pool
        thread = threading.Thread(target=lambda: [call_once(wrapper, "/", host="127.0.0.1") for _ in range(5)])
        thread.start()
        thread.join()
    assert _fds() == before
    assert total(read_counters(stats_dir)).requests == 251


def test_the_run_queue_is_read_from_outside_for_every_thread() -> None:
    waited = run_queue_ns([os.getpid(), 999_999_999])
    assert list(waited) == [os.getpid()]  # a process that is gone is left out
    assert waited[os.getpid()] >= 0


def test_the_instrument_cost_is_measured_against_the_plain_app(stats_dir: Path) -> None:
    plain = _view()
    cost = measure_instrument_cost(plain, TimingWrapper(plain, stats_dir), path="/", pairs=3, block_s=0.01)  # type: ignore[arg-type]
    assert cost.pairs == 3 and cost.calls_per_block >= 1
    assert cost.us_min <= cost.us_per_request <= cost.us_max
    assert cost.plain_us_per_request > 0


def test_the_instrument_cost_is_reported_and_kept_in_the_json(tmp_path: Path) -> None:
    cost = InstrumentCost(
        path="/x/", us_per_request=1.25, us_min=0.5, us_max=2.0, pairs=21, calls_per_block=300, plain_us_per_request=70
    )
    suite = Suite(metadata=METADATA, runs=(gunicorn_run(1, path="/x/"),), instrument=(cost,))
    suite.dump(tmp_path / "s.json")
    assert Suite.load(tmp_path / "s.json") == suite
    assert (
        "timing wrapper in-process: +1.2 µs CPU per request (+0.5 to +2.0 over 21 alternations with the plain app),"
        " booked as the role 'instrument', not the view's"
    ) in sweep_table(suite).splitlines()


def test_a_view_too_slow_to_resolve_microseconds_has_the_wrapper_measured_on_a_minimal_response(
    stats_dir: Path,
) -> None:
    from probes.job.t0 import INSTRUMENT_ON_VIEW_MAX_US, instrument_cost

    def slow_view(environ: dict[str, object], start_response: object) -> HttpResponse:
        raise AssertionError("a slow view is not called again: its jitter would hide the wrapper")

    slow = ViewCost("page", "/page/", 200, 30, 49_000, 50_000, 48_000, INSTRUMENT_ON_VIEW_MAX_US + 1, 35_000, 1.0)
    cost = instrument_cost(slow_view, slow, "127.0.0.1", stats_dir, lambda message: None)
    assert cost is not None
    assert (cost.path, cost.reference) == ("/page/", "a minimal Django response")
    assert cost.plain_us_per_request < 1000  # what was measured is the minimal response, not the page
    text = sweep_table(Suite(metadata=METADATA, runs=(gunicorn_run(1, path="/page/"),), instrument=(cost,)))
    assert "alternations with the plain app, on a minimal Django response: the view's own time would hide µs)" in text
