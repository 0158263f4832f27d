"""The wording module's own test: the sentences a finding renders to (the rules' tests assert findings only)."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.rules import diagnose
from probes.bench.model.diagnosis import ViewTime
from tests.unit.bench.judge.test_rules import T0, make_run


def test_the_sentences_of_the_verdicts_the_saved_results_do_not_hold() -> None:
    saturated = diagnose(make_run(x=180.0, busy=0.9, app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5), T0)
    assert "a zero-cost server could add at most +5 %" in saturated.why
    assert diagnose(make_run(workers=8, concurrency=8), T0).advice == "raise --concurrency above 8"
    before = diagnose(make_run(x=100.0, app_wall_ms=10.0, mean_ms=100.0, queue_ms=90.0), T0)
    assert "before the app: 90.0 ms in the queue per request, more than the connections explain" in before.why
    io = diagnose(make_run(x=200.0, app_wall_ms=20.0, app_cpu_ms=1.0, mean_ms=20.0), ViewTime(0.020, 0.001, "x"))
    assert "~400 r/s expected with 8" in io.advice
    inflated = diagnose(make_run(x=400.0, app_wall_ms=10.0, app_cpu_ms=1.0, mean_ms=20.0), ViewTime(0.005, 0.001, "x"))
    assert "requests wait for each other inside the app; X x t0 = 2.00 of 4" in inflated.why


def test_an_event_loop_and_a_kept_rate_are_worded_with_their_numbers() -> None:
    kwargs = {"workers": 1, "concurrency": 16, "x": 314.0, "mean_ms": 50.5, "app_wall_ms": 50.0, "busy": 0.28}
    loop = replace(make_run(app_cpu_ms=0.6, server_cpu_ms=1.8, **kwargs), kind="uvicorn")  # type: ignore[arg-type]
    result = diagnose(loop, ViewTime(0.0315, 0.0006, "in-process"))
    assert "X x app wall = 15.7 > 1 worker: uvicorn overlaps the waits of the 16 connections' requests" in result.why
    assert "until a worker fills its core (~556 r/s at 1.8 ms of its server+view CPU per request)" in result.advice
    low = {"workers": 2, "x": 500.0, "app_wall_ms": 0.273, "app_cpu_ms": 0.273, "server_cpu_ms": 0.5, "busy": 0.29}
    offered = replace(make_run(**low, mean_ms=1.0), rate=500.0)  # type: ignore[arg-type]
    rated = diagnose(offered, ViewTime(0.0001, 0.000083, "in-process"))
    assert rated.why.startswith(
        "served the offered 500 r/s at cores 29 % busy; machine CPU per request 1.2 ms (every process on the"
        " cores, 410 µs of it unattributed): at that the 2 cores could serve ~1,724 r/s; the app waited 0.0 ms"
        " per request beyond t0"
    )
    assert "the view costs 3.3x its in-process CPU under the server (83 µs -> 273 µs" in rated.why
    untimed = diagnose(replace(make_run(x=200.0, app_wall_ms=20.0, mean_ms=20.0, timed=False)), T0)
    assert "the app's own time was not measured (--no-timing)" in untimed.why


def test_where_the_serialization_waits_and_the_last_resorts_are_worded() -> None:
    inside = diagnose(make_run(x=100.0, app_wall_ms=38.0, app_cpu_ms=1.0), T0)
    assert "inside the app: its wall time grew from t0 10.0 ms to 38.0 ms" in inside.why
    partly = make_run(x=228.0, app_wall_ms=16.4, app_cpu_ms=4.3, server_cpu_ms=5.0, mean_ms=35.0, busy=0.63)
    assert "the wait is inside the app: its wall time grew from t0 5.5 ms to 16.4 ms" in (
        diagnose(partly, ViewTime(0.00545, 0.0039, "in-process")).why
    )
    explained = diagnose(make_run(x=100.0, app_wall_ms=10.0, mean_ms=50.0, queue_ms=40.0), T0)
    assert "neither in the app's own time nor in the queue" in explained.why
    one = make_run(workers=1, x=1200.0, app_wall_ms=0.4, app_cpu_ms=0.3, server_cpu_ms=0.82, mean_ms=6.6, busy=0.62)
    assert "1 serving process, each 98 % of a core" in diagnose(one, ViewTime(0.00025, 0.00025, "in-process")).why
    unfit = diagnose(make_run(x=50.0, app_wall_ms=10.0, mean_ms=100.0), ViewTime(0.05, 0.001, "in-process"))
    assert "N = X x R 5.0 of 8 connections" in unfit.why
    kwargs = {"x": 100.0, "app_wall_ms": 30.0, "app_cpu_ms": 0.5, "server_cpu_ms": 1.0, "mean_ms": 40.0}
    shared = diagnose(make_run(busy=0.95, **kwargs), ViewTime(0.030, 0.0005, "in-process"))  # type: ignore[arg-type]
    assert "its own roles used 6 %" in shared.why


def test_the_concurrency_advice_at_one_worker() -> None:
    from probes.bench.judge.wording import concurrency_advice
    from probes.bench.model.diagnosis import Hint

    assert concurrency_advice(Hint("view_waits"), "gunicorn") == (
        "concurrency inside the worker is what helps: the view waits, and an async view under uvicorn or"
        " granian-asgi (or gunicorn-gevent's greenlets) overlaps those waits in one process"
    )
    assert concurrency_advice(Hint("worker_overlaps", {"loop_lag_ms": 2.5, "in_flight": 16.0}), "uvicorn") == (
        "concurrency inside the worker is what helps: uvicorn overlaps the waits of 16 requests in one process,"
        " the event loop ran 2.5 ms late on average"
    )
    assert concurrency_advice(Hint("view_computes", {"app_cpu_s": 0.010}), "uvicorn").startswith(
        "async will not help: the view computes (10.0 ms CPU per request"
    )
    gevent = Hint("worker_overlaps", {"in_flight": 16.0, "blocking_queries": 2.0})
    assert concurrency_advice(gevent, "gunicorn-gevent").endswith(
        "its 2 database queries per request block every greenlet of the worker unless the driver yields to"
        " gevent (SQLite and psycopg 3 do not)"
    )


def test_the_progress_line_says_the_quality_and_the_verdict_once_each() -> None:
    """Issue 20: '0 r/s, failing, failing'."""
    from probes.bench.judge.wording import progress_text

    failing = progress_text("gunicorn w2", rps=0.0, quality="failing", verdict="failing", reason="every request 500")
    assert failing == "gunicorn w2: 0 r/s, failing: every request 500"
    assert progress_text("gunicorn w4", rps=1234.4, quality="ok", verdict="cpu-saturated") == (
        "gunicorn w4: 1,234 r/s, ok data, cpu-saturated"
    )
