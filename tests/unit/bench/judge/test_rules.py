"""Verdicts on runs built in memory: each rule of the threshold table, by its finding (rule and numbers)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.bench.judge.figures import figures
from probes.bench.judge.rules import THRESHOLDS, diagnose
from probes.bench.model.app import AppTotals
from probes.bench.model.diagnosis import Finding, Verdict, ViewTime
from probes.bench.model.results import Run, Sample
from tests.factories import gunicorn_run


def make_run(
    *,
    workers: int = 4,
    x: float = 100.0,
    mean_ms: float = 40.0,
    busy: float = 0.3,
    app_wall_ms: float = 10.0,
    app_cpu_ms: float = 1.0,
    server_cpu_ms: float = 1.5,
    nginx_cpu_ms: float = 0.2,
    concurrency: int = 8,
    quality: str = "ok",
    queue_ms: float | None = None,
    runq_ms: float = 0.0,
    instrument_cpu_ms: float = 0.0,
    timed: bool = True,
) -> Run:
    duration = 2.0
    requests = int(x * duration)
    served = requests
    app = AppTotals(
        requests=served,
        app_wall_ns=int(app_wall_ms * 1e6 * served),
        app_cpu_ns=int(app_cpu_ms * 1e6 * served),
        queue_ns=int(((queue_ms or 0) + 0.5) * 1e6 * served) if queue_ms is not None else 0,
        queued_requests=served if queue_ms is not None else 0,
        db_ns=0,
        db_queries=0,
        exceptions=0,
        server_errors=0,
        app_runq_ns=int(runq_ms * 1e6 * served),
    )
    sample = Sample(
        generator="wrk",
        duration_s=duration,
        requests=requests,
        ok=requests,
        errors={},
        status_counts={"200": requests},
        redirect_location=None,
        latency_ms={"p50": mean_ms, "p90": mean_ms, "p99": mean_ms, "max": mean_ms, "mean": mean_ms},
        cpu_s={
            "server": server_cpu_ms / 1000 * requests,
            "nginx": nginx_cpu_ms / 1000 * requests,
            "client": 0.05 / 1000 * requests,
            **({"instrument": instrument_cpu_ms / 1000 * requests} if instrument_cpu_ms else {}),
        },
        machine_busy_s=busy * duration * 2,
        wall_s=duration,
        cores=2,
        app=app if timed else AppTotals(),
        served_by_pid={"1": served} if timed else {},
    )
    return gunicorn_run(workers, path="/x/", concurrency=concurrency, samples=(sample,), quality=quality)


T0 = ViewTime(wall_s=0.010, cpu_s=0.001, source="in-process")


def found(run: Run, t0: ViewTime | None = T0) -> Finding:
    """The finding that decided the run's verdict."""
    finding = diagnose(run, t0).finding
    assert finding is not None
    return finding


def test_littles_law_and_parallelism() -> None:
    f = figures(make_run(x=100.0, mean_ms=40.0), T0)
    assert f.in_flight == pytest.approx(4.0)
    assert f.parallelism == pytest.approx(1.0)
    assert f.cpu_per_request_s["view"] == pytest.approx(0.001)
    assert f.cpu_per_request_s["server"] == pytest.approx(0.0005)  # 1.5 ms minus the view's 1 ms


def test_failing_and_client_bound_come_first() -> None:
    assert found(make_run(quality="failing", busy=0.99)) == Finding(Verdict.FAILING, "bad_data")
    assert found(make_run(quality="client-bound", busy=0.99)) == Finding(Verdict.CLIENT_BOUND, "bad_data")


def test_cpu_saturated_names_the_owner_and_the_most_a_server_could_gain() -> None:
    run = make_run(x=180.0, busy=0.9, app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5)
    result = diagnose(run, T0)
    assert result.verdict == "cpu-saturated"
    assert result.owner == "view"
    # Machine CPU per request: 0.9 x 2 cores x 2 s / 360 requests = 10 ms; the server's own 0.5 ms of it.
    assert result.server_gain_pct == pytest.approx(100 * 0.5 / 9.5)
    assert result.finding == Finding(
        Verdict.CPU_SATURATED, "cpu_saturated", {"busy": 0.9, "server_gain_pct": pytest.approx(5.263, abs=1e-3)}
    )


def test_where_one_thread_runs_many_requests_no_server_gain_is_claimed_from_a_view_share_that_holds_it() -> None:
    # gunicorn-gevent w4 in the default sweep read "view 69 % … a zero-cost server could add at most +0 %": the
    # wrapper gives each sampled request the process's CPU per request there, the server's own loop included.
    run = replace(
        make_run(x=180.0, busy=0.9, app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5), kind="gunicorn-gevent"
    )
    result = diagnose(run, T0)
    assert result.verdict == "cpu-saturated" and result.server_gain_pct is None
    assert result.finding == Finding(Verdict.CPU_SATURATED, "cpu_saturated", {"busy": 0.9})
    assert "zero-cost server" not in result.why
    assert result.why.endswith("so the view's CPU holds the server's own loop too (not split)"), result.why


def test_load_limited_when_the_client_never_filled_the_workers() -> None:
    assert found(make_run(workers=8, concurrency=8)) == Finding(
        Verdict.LOAD_LIMITED, "too_few_connections", {"concurrency": 8, "capacity": 8}
    )


def test_serialized_inside_the_app() -> None:
    result = diagnose(make_run(x=100.0, app_wall_ms=38.0, app_cpu_ms=1.0), T0)
    assert result.finding == Finding(Verdict.SERIALIZED, "serialized_inside_app", {"parallelism": 1.0, "high": 1.5})
    assert (result.figures.t0_s, result.figures.app_wall_s) == pytest.approx((0.010, 0.038))


def test_serialized_before_the_app() -> None:
    # 8 connections, 4 workers, 100 r/s: Little's law explains 40 ms of queue; 90 ms is more.
    result = diagnose(make_run(x=100.0, app_wall_ms=10.0, mean_ms=100.0, queue_ms=90.0), T0)
    assert result.finding == Finding(Verdict.SERIALIZED, "serialized_before_app", {"parallelism": 1.0, "high": 1.2})
    assert result.figures.queue_s == pytest.approx(0.090)
    assert result.figures.expected_queue_s == pytest.approx(0.040)


def test_a_queue_the_connections_explain_is_not_the_culprit() -> None:
    finding = found(make_run(x=100.0, app_wall_ms=10.0, mean_ms=50.0, queue_ms=40.0))
    assert (finding.verdict, finding.rule) == (Verdict.SERIALIZED, "serialized_elsewhere")


def test_io_bound_predicts_more_workers() -> None:
    # 4 workers each waiting 20 ms: X = 200 r/s; X x t0 = 2, not serialized.
    finding = found(make_run(x=200.0, app_wall_ms=20.0, app_cpu_ms=1.0, mean_ms=20.0), ViewTime(0.020, 0.001, "x"))
    # 8 workers x threads / 20 ms = 400 r/s, under the cores' cap.
    assert finding == Finding(
        Verdict.IO_BOUND, "workers_waiting", {"workers_busy": 1.0, "expected_rps": 400.0, "with_capacity": 8}
    )


def test_worker_limited_when_computing_with_fewer_workers_than_cores() -> None:
    run = make_run(workers=1, x=90.0, app_wall_ms=11.0, app_cpu_ms=10.5, mean_ms=80.0, busy=0.55)
    finding = found(run, ViewTime(0.011, 0.0105, "in-process"))
    assert (finding.verdict, finding.rule) == (Verdict.WORKER_LIMITED, "workers_computing")
    # 2 workers x 1 thread / 11 ms = 182 r/s; the cores at 10.5 ms of view CPU: 190; the cores' cap
    # at 0.55 x 2 cores x 2 s / 180 requests = 12.2 ms of machine CPU: 163.6 r/s, the least.
    assert finding.numbers == {
        "workers_busy": pytest.approx(0.99),
        "expected_rps": pytest.approx(163.64, abs=0.01),
        "with_capacity": 2,
    }


def test_a_run_no_rule_fits_is_unclassified_with_its_numbers() -> None:
    finding = found(make_run(x=50.0, app_wall_ms=10.0, mean_ms=100.0), ViewTime(0.05, 0.001, "in-process"))
    assert finding == Finding(Verdict.UNCLASSIFIED, "no_rule_fits", {"in_flight": 5.0})


def test_one_process_on_a_whole_core_is_worker_limited() -> None:
    # 1 worker: 1,200 r/s at 0.82 ms of server CPU each is one full core; the view's wall is only 0.4 ms.
    run = make_run(workers=1, x=1200.0, app_wall_ms=0.4, app_cpu_ms=0.3, server_cpu_ms=0.82, mean_ms=6.6, busy=0.62)
    result = diagnose(run, ViewTime(0.00025, 0.00025, "in-process"))
    assert result.figures.serving_processes == 1
    assert result.figures.process_busy == pytest.approx(0.984)
    # Expected with 2 processes: 2 x 1,200 r/s, capped by the cores at 0.62 x 2 x 2 s / 2,400 = 1.03 ms each.
    assert result.finding == Finding(
        Verdict.WORKER_LIMITED,
        "process_on_a_core",
        {
            "serving_processes": 1,
            "process_busy": pytest.approx(0.984),
            "expected_rps": pytest.approx(1935.48, abs=0.01),
        },
    )


@pytest.mark.parametrize("busy", [0.78, 0.81, 0.90])
def test_one_process_on_a_whole_core_stays_worker_limited_across_the_cpu_wall(busy: float) -> None:
    # granian w1x4t: one process at a whole core, the cores 77-81 % busy from one rerun to the next;
    # nginx and the client take the rest (2,400 requests on 2 cores in 2 s; 0.1 s to nobody).
    assert found(on_a_core(busy), ViewTime(0.00025, 0.00025, "in-process")).rule == "process_on_a_core"


def test_one_process_at_85_percent_of_a_core_on_shared_cores_is_worker_limited() -> None:
    # granian w1x4t, once: its one process at 84.8 % of a core, the cores 74 % busy (nginx and wrk beside it).
    run = make_run(
        workers=1,
        x=4816.0,
        app_wall_ms=0.12,
        app_cpu_ms=0.11,
        server_cpu_ms=0.176,
        mean_ms=1.7,
        busy=0.74,
        nginx_cpu_ms=0.1,
    )
    result = diagnose(run, ViewTime(0.000066, 0.000066, "in-process"))
    assert result.figures.process_busy == pytest.approx(0.848, abs=0.01)
    assert result.finding.rule == "process_on_a_core"


def test_one_process_of_a_full_machine_is_cpu_saturated() -> None:
    assert found(on_a_core(0.96), ViewTime(0.00025, 0.00025, "in-process")).verdict is Verdict.CPU_SATURATED


def on_a_core(busy: float) -> Run:
    """One worker at 0.82 ms of server CPU for each of 1,200 r/s (98 % of a core); nginx the rest but 0.1 s."""
    nginx_ms = (busy * 2 * 2.0 - 0.82e-3 * 2400 - 0.1) / 2400 * 1e3
    return make_run(
        workers=1,
        x=1200.0,
        app_wall_ms=0.4,
        app_cpu_ms=0.3,
        server_cpu_ms=0.82,
        mean_ms=6.6,
        busy=busy,
        nginx_cpu_ms=nginx_ms,
    )


def test_a_partly_serial_view_waiting_inside_the_app_is_serialized() -> None:
    # SQLite sessions: 5.45 ms alone, 16.4 ms under 4 workers, X x t0 = 1.24.
    run = make_run(x=228.0, app_wall_ms=16.4, app_cpu_ms=4.3, server_cpu_ms=5.0, mean_ms=35.0, busy=0.63)
    result = diagnose(run, ViewTime(0.00545, 0.0039, "in-process"))
    # Above 1.20, within the contended bound 1.50: the wait is proven inside the app.
    assert result.finding == Finding(
        Verdict.SERIALIZED, "serialized_inside_app", {"parallelism": pytest.approx(1.2426), "high": 1.5}
    )
    assert result.figures.app_wall_s == pytest.approx(0.0164)


def test_an_inflated_wall_is_not_io_bound() -> None:
    # Every worker busy, mostly waiting, but waiting for each other: no "more workers help" promise.
    run = make_run(x=400.0, app_wall_ms=10.0, app_cpu_ms=1.0, mean_ms=20.0)
    # 9 ms off-CPU under load, 4 ms alone: 5 ms waited; X x t0 = 400 x 5 ms = 2, half the 4 workers.
    assert found(run, ViewTime(0.005, 0.001, "in-process")) == Finding(
        Verdict.CONTENDED, "contended", {"waited_s": pytest.approx(0.005), "parallelism": 2.0}
    )


def test_one_run_of_sqlite_sessions_on_four_workers_is_contended_with_its_database_share() -> None:
    # Issue 19: session-db at gunicorn w4, t0 1.8 ms, app wall 9.0 ms under load, X x t0 = 0.74.
    run = make_run(x=0.74 / 0.0018, app_wall_ms=9.0, app_cpu_ms=2.4, runq_ms=1.0, mean_ms=19.0, busy=0.5)
    window = run.samples[0]
    queried = window.app.requests
    timed = replace(window, app=replace(window.app, db_ns=int(4.96e6 * queried), db_queries=2 * queried))
    result = diagnose(replace(run, samples=(timed,)), ViewTime(0.0018, 0.0016, "in-process", session_written=True))
    # 5.6 ms off-CPU under load, 0.2 ms alone: 5.4 ms waited; 4.96 of the 6.2 ms beyond t0 in the database.
    assert result.finding == Finding(
        Verdict.CONTENDED,
        "contended",
        {
            "waited_s": pytest.approx(0.0054),
            "parallelism": pytest.approx(0.74, abs=0.01),
            "db_share": pytest.approx(0.8),
        },
    )
    assert "5.4 ms more off-CPU than t0 waited, 80 % of it in the database" in result.why
    assert result.advice.startswith(
        "more workers cannot help: 80 % of the wait is database time: the requests wait for the database's locks"
        " (SQLite admits one writer at a time); this view saves a session on every request: sessions in the cache"
    )


def test_serialized_advice_names_the_wait_from_the_figures_and_sessions_only_when_written() -> None:
    """Issue 20: a ping view that touches no session was told "PostgreSQL or sessions in the cache"."""
    run = make_run(x=100.0, app_wall_ms=38.0, app_cpu_ms=1.0)
    window = run.samples[0]
    served = window.app.requests

    def queried(db_ms: float, queries: int) -> Run:
        app = replace(window.app, db_ns=int(db_ms * 1e6 * served), db_queries=queries * served)
        return replace(run, samples=(replace(window, app=app),))

    ping = diagnose(queried(25.0, 1), T0)  # 25 of the 28 ms beyond t0 in the database, no session saved
    assert ping.finding is not None and ping.finding.numbers["db_share"] == pytest.approx(25 / 28)
    assert ping.advice == (
        "more workers cannot help: 89 % of the wait is database time: the requests wait for the database's locks"
        " (SQLite admits one writer at a time)"
    )
    assert "session" not in ping.advice
    written = diagnose(queried(25.0, 1), replace(T0, session_written=True))
    assert "this view saves a session on every request" in written.advice
    lock = diagnose(queried(2.0, 1), T0)  # 2 of 28 ms: the wait is not the database's
    assert lock.advice.startswith("more workers cannot help: only 7 % of the wait is database time: the rest is a lock")
    assert diagnose(queried(0.0, 0), T0).advice.startswith("more workers cannot help: the view made no database query")


def test_waiting_for_each_other_with_most_workers_still_in_parallel_is_not_named() -> None:
    # X x t0 = 3 of 4 workers: above half of them, contention is not what caps it; no name fits.
    run = make_run(x=600.0, app_wall_ms=10.0, app_cpu_ms=1.0, server_cpu_ms=1.2, mean_ms=13.0)
    assert THRESHOLDS["contended_parallelism"] * 4 < 3.0
    assert found(run, ViewTime(0.005, 0.001, "in-process")).rule == "waits_inside_app"


def test_the_saturation_threshold_is_the_tables() -> None:
    at = make_run(x=180.0, busy=THRESHOLDS["cpu_saturated_busy"], app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5)
    below = make_run(x=180.0, busy=THRESHOLDS["cpu_saturated_busy"] - 0.01, app_wall_ms=20, app_cpu_ms=10)
    assert diagnose(at, T0).verdict == "cpu-saturated"
    assert diagnose(below, T0).verdict != "cpu-saturated"


def test_a_machine_full_of_another_process_is_not_cpu_saturated() -> None:
    """A 30 ms sleep while something else filled the cores: no verdict is this configuration's."""
    kwargs = {"x": 100.0, "app_wall_ms": 30.0, "app_cpu_ms": 0.5, "server_cpu_ms": 1.0, "mean_ms": 40.0}
    sleep = ViewTime(0.030, 0.0005, "in-process")
    # Its own roles: (1.0 server + 0.2 nginx + 0.05 client) ms x 100 r/s = 0.125 s/s of 2 cores, 6 %.
    assert found(make_run(busy=0.95, **kwargs), sleep) == Finding(  # type: ignore[arg-type]
        Verdict.MACHINE_SHARED,
        "machine_shared",
        {"busy": 0.95, "others_busy": pytest.approx(0.8875), "own_busy": pytest.approx(0.0625)},
    )
    # The same run with the cores idle is the view's wait, not the machine.
    assert diagnose(make_run(busy=0.06, **kwargs), sleep).verdict == "io-bound"  # type: ignore[arg-type]
    # Its own roles fill the cores: saturated, whatever else ran.
    hungry = make_run(x=180.0, busy=0.95, app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5)
    assert diagnose(hungry, T0).verdict == "cpu-saturated"


def test_an_event_loop_overlapping_waits_is_limited_by_the_connections_not_its_one_worker() -> None:
    """uvicorn, one worker, a 30 ms async sleep at 16 connections: ~16 requests inside the worker at once."""
    kwargs = {"workers": 1, "concurrency": 16, "x": 314.0, "mean_ms": 50.5, "app_wall_ms": 50.0, "busy": 0.28}
    run = replace(make_run(app_cpu_ms=0.6, server_cpu_ms=1.8, **kwargs), kind="uvicorn")  # type: ignore[arg-type]
    t0 = ViewTime(0.0315, 0.0006, "in-process")
    # X x app wall = 314 x 50 ms = 15.7 > 1 worker; the worker's 1.8 ms of CPU per request caps it at 556 r/s;
    # the cores at 0.28 x 2 x 2 s / 628 requests = 1.78 ms of machine CPU each: 1,121 r/s.
    assert found(run, t0) == Finding(
        Verdict.LOAD_LIMITED,
        "overlapped_waits",
        {
            "in_app": pytest.approx(15.7),
            "worker_cpu_s": pytest.approx(0.0018),
            "worker_cap_rps": pytest.approx(555.56, abs=0.01),
            "cpu_cap_rps": pytest.approx(1121.43, abs=0.01),
        },
    )
    # The same figures from a sync worker cannot be: it is not read as an overlap there.
    assert diagnose(replace(run, kind="gunicorn"), t0).verdict != "load-limited"
    # A loop that fills its core is the worker's limit, not the connections'.
    busy_loop = replace(make_run(app_cpu_ms=0.6, server_cpu_ms=3.0, **kwargs), kind="uvicorn")  # type: ignore[arg-type]
    assert diagnose(busy_loop, t0).verdict == "worker-limited"


def test_one_worker_cannot_wait_for_another() -> None:
    # One worker whose wall grew because it shared the CPU: busy, not contended.
    run = make_run(workers=1, x=272.0, app_wall_ms=3.2, app_cpu_ms=1.2, server_cpu_ms=1.6, mean_ms=29.0, busy=0.49)
    result = diagnose(run, ViewTime(0.0019, 0.0012, "in-process"))
    assert result.verdict == "io-bound"


def test_a_wall_grown_by_waiting_for_a_cpu_is_not_contention() -> None:
    # 2 workers, 16 ms of app wall against t0 5.5 ms, but 11 ms of it in the run queue: the CPUs, not a lock.
    base = {"workers": 2, "x": 220.0, "app_wall_ms": 16.4, "app_cpu_ms": 4.3, "server_cpu_ms": 5.0, "mean_ms": 60.0}
    t0 = ViewTime(0.0055, 0.0043, "in-process")
    assert diagnose(make_run(**base), t0).verdict == "serialized"  # type: ignore[arg-type]
    queued = diagnose(make_run(**base, runq_ms=11.0), t0)  # type: ignore[arg-type]
    assert queued.verdict != "serialized"
    assert queued.figures.app_runq_s == pytest.approx(0.011)


def test_the_instrument_is_a_role_of_its_own_never_the_views() -> None:
    # The sweep books the wrapper's measured cost apart from the server's processes' CPU.
    f = figures(make_run(app_cpu_ms=1.0, server_cpu_ms=1.5, instrument_cpu_ms=0.002), T0)
    assert f.cpu_per_request_s["instrument"] == pytest.approx(0.000002)
    assert f.cpu_per_request_s["view"] == pytest.approx(0.001)
    assert f.cpu_per_request_s["server"] == pytest.approx(0.0005)


def test_without_timing_a_verdict_that_needs_the_apps_time_says_what_it_lacks() -> None:
    # The io-bound case above, measured with --no-timing: nothing says the workers wait.
    run = make_run(x=200.0, app_wall_ms=20.0, app_cpu_ms=1.0, mean_ms=20.0, timed=False)
    result = diagnose(run, ViewTime(0.020, 0.001, "in-process"))
    assert result.finding == Finding(Verdict.UNCLASSIFIED, "untimed")
    assert result.figures.app_wall_s is None
    assert "view" not in result.figures.cpu_per_request_s  # the server's CPU is not split without it


def test_cpu_that_grew_under_load_is_not_a_wait_and_a_kept_rate_is_rate_limited() -> None:
    # Measured: trivial at --rate 500 on 2 gunicorn workers, 29 % busy; app wall = app CPU = 273 µs
    # against t0 0.1 ms wall, 0.083 ms CPU. Nothing waited: the CPU per request grew 273 / 83 = 3.29x.
    low = {"workers": 2, "x": 500.0, "app_wall_ms": 0.273, "app_cpu_ms": 0.273, "server_cpu_ms": 0.5, "busy": 0.29}
    t0 = ViewTime(0.0001, 0.000083, "in-process")
    closed = found(make_run(**low, mean_ms=1.0), t0)  # type: ignore[arg-type]
    assert closed == Finding(
        Verdict.UNCLASSIFIED, "no_rule_fits", {"in_flight": 0.5, "cpu_growth": pytest.approx(3.289, abs=1e-3)}
    )
    offered = replace(make_run(**low, mean_ms=1.0), rate=500.0)  # type: ignore[arg-type]
    # The headroom: 0.29 x 2 cores x 2 s / 1,000 requests = 1.16 ms of CPU each, so 2 cores / 1.16 ms = 1,724 r/s.
    assert found(offered, t0) == Finding(
        Verdict.RATE_LIMITED,
        "rate_kept",
        {
            "rate_rps": 500.0,
            "cpu_cap_rps": pytest.approx(1724.14, abs=0.01),
            "cpu_growth": pytest.approx(3.289, abs=1e-3),
            "waited_s": 0.0,
        },
    )
    # An offered rate it could not keep is diagnosed like a closed loop.
    assert diagnose(replace(offered, rate=1000.0), t0).verdict != "rate-limited"


def test_a_view_that_waits_alone_does_not_count_its_own_wait_as_contention() -> None:
    # sleep?ms=10: 10 ms off-CPU in-process already; under load the same 10 ms is no wait for another.
    run = make_run(x=390.0, app_wall_ms=10.2, app_cpu_ms=0.2, server_cpu_ms=0.6, mean_ms=20.0)
    result = diagnose(run, ViewTime(0.0101, 0.0002, "in-process"))
    assert result.verdict == "io-bound"


def test_a_database_that_could_not_be_found_is_not_another_process() -> None:
    """Issue 20: a local PostgreSQL on its unix socket took half the cores; no role held it: machine-shared."""
    kwargs = {"x": 100.0, "app_wall_ms": 30.0, "app_cpu_ms": 0.5, "server_cpu_ms": 1.0, "mean_ms": 40.0}
    run = make_run(busy=0.95, **kwargs)  # type: ignore[arg-type]
    how = "unix socket /var/run/postgresql/.s.PGSQL.5432"
    unfound = replace(run, samples=tuple(replace(s, unattributed_roles={"database": how}) for s in run.samples))
    result = diagnose(unfound, ViewTime(0.030, 0.0005, "in-process"))
    assert result.verdict == "cpu-saturated"
    assert result.why.endswith(
        f"; the database's CPU could not be attributed ({how}): it is in the unattributed CPU, not another process's"
    )


def test_half_the_wall_off_cpu_is_between_io_bound_and_worker_limited_never_computing() -> None:
    """Issue 20: 8.3 ms in the app, 4.2 ms of it CPU, read worker-limited ("computing") in one run, io-bound
    in the next. Within the band the verdict is still the 2.0 rule's; the why gives both readings."""
    t0 = ViewTime(0.0083, 0.0042, "in-process")
    run = make_run(workers=1, x=118.0, app_wall_ms=8.3, app_cpu_ms=4.2, server_cpu_ms=4.5, mean_ms=16.0, busy=0.4)
    result = diagnose(run, t0)
    assert result.finding is not None
    assert (result.verdict, result.finding.rule) == ("worker-limited", "workers_between")
    assert result.why.startswith(
        "between io-bound and worker-limited: every worker busy 8.3 ms per request, 4.2 ms of it the view's CPU (51 %)"
    )
    assert "computing" not in result.why
    assert result.advice.startswith("more workers help: ~")
    # Just past 2.0 the verdict turns, the sentence does not.
    waiting = make_run(workers=1, x=114.0, app_wall_ms=8.6, app_cpu_ms=4.2, server_cpu_ms=4.5, mean_ms=16.0, busy=0.4)
    turned = diagnose(waiting, ViewTime(0.0086, 0.0042, "in-process"))
    assert turned.finding is not None
    assert (turned.verdict, turned.finding.rule) == ("io-bound", "workers_between")
    assert turned.why.startswith("between io-bound and worker-limited")


def test_computing_is_said_when_the_cpu_is_most_of_the_wall_and_one_worker_is_one() -> None:
    run = make_run(workers=1, x=90.0, app_wall_ms=11.0, app_cpu_ms=10.5, mean_ms=80.0, busy=0.55)
    result = diagnose(run, ViewTime(0.011, 0.0105, "in-process"))
    assert result.why.startswith(
        "1 worker computing: 10.5 ms of the view's CPU per request of its 11.0 ms in the app, on 2 cores"
    )


def test_the_cpu_per_request_of_a_saturated_machine_says_what_it_includes() -> None:
    run = make_run(x=180.0, busy=0.9, app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5)
    assert "; machine CPU per request 10.0 ms (every process on the cores, " in diagnose(run, T0).why
