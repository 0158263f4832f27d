"""The advice at one worker: concurrency inside the worker helps a view that waits, not one that computes."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.concurrency import advice, hint, with_advice
from probes.bench.judge.figures import loop_lag_ms
from probes.bench.judge.rules import diagnose
from probes.bench.model.diagnosis import Hint, ViewTime
from probes.bench.model.results import Run
from tests.unit.bench.judge.test_rules import make_run

WAITS = ViewTime(wall_s=0.020, cpu_s=0.0005, source="in-process")
COMPUTES = ViewTime(wall_s=0.010, cpu_s=0.010, source="in-process")


def on(kind: str, run: Run, **app: int) -> Run:
    sample = run.samples[0]
    return replace(run, kind=kind, samples=(replace(sample, app=replace(sample.app, **app)),))


def test_a_sync_worker_that_waits_is_told_what_would_overlap_the_waits() -> None:
    run = make_run(workers=1, x=50.0, mean_ms=160.0, app_wall_ms=20.0, app_cpu_ms=0.5)
    assert hint(run, diagnose(run, WAITS)) == Hint("view_waits")


def test_an_event_loop_that_waits_names_how_many_it_overlaps_and_its_lag() -> None:
    # 400 r/s x 40 ms: 16 requests in flight in one process; the loop 2.5 ms late per tick.
    run = on(
        "uvicorn",
        make_run(workers=1, x=400.0, mean_ms=40.0, app_wall_ms=38.0, app_cpu_ms=0.8),
        loop_lag_ns=10 * 2_500_000,
        loop_ticks=10,
    )
    assert loop_lag_ms(run) == 2.5
    assert hint(run, diagnose(run, WAITS)) == Hint("worker_overlaps", {"loop_lag_ms": 2.5, "in_flight": 16.0})


def test_a_view_that_computes_is_told_async_will_not_help() -> None:
    run = on("uvicorn", make_run(workers=1, x=90.0, mean_ms=88.0, app_wall_ms=80.0, app_cpu_ms=10.0))
    assert hint(run, diagnose(run, COMPUTES)) == Hint("view_computes", {"app_cpu_s": 0.010})


def test_gevent_names_the_database_driver_that_blocks_its_greenlets() -> None:
    run = make_run(workers=1, x=400.0, mean_ms=40.0, app_wall_ms=38.0, app_cpu_ms=0.8)
    served = run.samples[0].app.requests
    gevent = on("gunicorn-gevent", run, db_queries=2 * served, db_ns=served)
    found = hint(gevent, diagnose(gevent, WAITS))
    assert found is not None and (found.rule, found.numbers["blocking_queries"]) == ("worker_overlaps", 2.0)


def test_more_workers_or_a_failing_run_get_no_such_advice() -> None:
    assert hint(make_run(workers=4), diagnose(make_run(workers=4), WAITS)) is None
    failing = make_run(workers=1, quality="failing")
    assert hint(failing, diagnose(failing, WAITS)) is None


def test_the_advice_is_appended_to_the_verdicts_own() -> None:
    run = make_run(workers=1, x=50.0, mean_ms=160.0, app_wall_ms=20.0, app_cpu_ms=0.5)
    plain = diagnose(run, WAITS)
    combined = with_advice(run, plain)
    assert combined.verdict == plain.verdict
    assert combined.advice == f"{plain.advice}; {advice(run, plain)}"
