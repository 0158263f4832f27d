"""The findings across a sweep's configurations, on runs built in memory: the fit names the verdict."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.across_runs import with_trends
from probes.bench.judge.wording import verdict_text
from probes.bench.measure.sweep import diagnosed
from probes.bench.model.diagnosis import Diagnosis, ViewTime
from tests.unit.bench.judge.test_rules import make_run

T0 = ViewTime(0.010, 0.001, "in-process")


def test_a_flat_throughput_over_worker_counts_is_serialized_with_its_sigma() -> None:
    # 10 ms of wait one at a time: ~100 r/s whatever the workers, cores idle.
    runs = [
        diagnosed(make_run(workers=n, x=x, app_wall_ms=10 * n, mean_ms=80), T0) for n, x in ((1, 98), (2, 99), (4, 100))
    ]
    scaled = with_trends(runs)
    assert all(run.diagnosis is not None and run.diagnosis.scaling is not None for run in scaled)
    fit = scaled[-1].diagnosis.scaling.fit  # type: ignore[union-attr]
    assert fit is not None and fit.serial_fraction >= 0.9
    assert scaled[-1].verdict == f"serialized (σ = {fit.serial_fraction:.2f})"
    diagnosis = scaled[-1].diagnosis
    assert diagnosis is not None
    # The fit qualifies the rule's verdict, which stays beside it; saved and shown as one, as before.
    assert (diagnosis.qualifier, diagnosis.verdict) == (scaled[-1].verdict, runs[-1].verdict)
    assert verdict_text(diagnosis) == diagnosis.to_dict()["verdict"] == scaled[-1].verdict
    assert verdict_text(Diagnosis.from_dict(diagnosis.to_dict())) == scaled[-1].verdict
    assert "runs one at a time" in scaled[-1].diagnosis.advice  # type: ignore[union-attr]
    assert scaled[0].verdict == runs[0].verdict  # one worker waits for nobody


def test_a_throughput_that_grows_with_the_workers_keeps_its_verdict() -> None:
    runs = [diagnosed(make_run(workers=n, x=100.0 * n, app_wall_ms=10, mean_ms=20), T0) for n in (1, 2, 4)]
    scaled = with_trends(runs)
    fit = scaled[-1].diagnosis.scaling.fit  # type: ignore[union-attr]
    assert fit is not None and fit.serial_fraction < 0.05
    assert [run.verdict for run in scaled] == [run.verdict for run in runs]


def test_open_loop_runs_and_fewer_than_three_worker_counts_have_no_fit() -> None:
    flat = [(1, 98.0), (2, 99.0), (4, 100.0)]
    offered = [replace(diagnosed(make_run(workers=n, x=x), T0), rate=x) for n, x in flat]
    assert all(run.diagnosis.scaling is None for run in with_trends(offered))  # type: ignore[union-attr]
    two = [diagnosed(make_run(workers=n, x=x), T0) for n, x in flat[:2]]
    assert all(run.diagnosis.scaling is None for run in with_trends(two))  # type: ignore[union-attr]


def test_concurrency_levels_of_one_configuration_give_its_knee() -> None:
    levels = ((1, 31.0, 32.0), (2, 63.0, 32.0), (4, 126.0, 32.0), (8, 126.0, 64.0), (16, 126.0, 128.0))
    runs = [diagnosed(replace(make_run(workers=4, x=x, mean_ms=r, concurrency=c)), T0) for c, x, r in levels]
    kneed = with_trends(runs)
    knee = kneed[0].diagnosis.knee  # type: ignore[union-attr]
    assert knee is not None and all(run.diagnosis.knee == knee for run in kneed)  # type: ignore[union-attr]
    assert knee.knee_concurrency == 4
    assert knee.littles_concurrency == 126.0 * 0.032
    assert knee.queueing_from == 4
    assert all(run.diagnosis.scaling is None for run in kneed)  # type: ignore[union-attr]  # one worker count


def test_one_fit_is_said_once_though_the_default_connections_differ_per_worker_count() -> None:
    from probes.report.sweep_lines import scaling_lines

    runs = [
        diagnosed(make_run(workers=n, x=x, app_wall_ms=10 * n, mean_ms=80, concurrency=max(8, 4 * n)), T0)
        for n, x in ((1, 98), (2, 99), (4, 100))
    ]
    [line] = scaling_lines(with_trends(runs))
    assert line.startswith("scaling gunicorn nginx/tcp: serialized (σ = ")
    assert "what to do: σ = " in line  # the advice of the largest worker count, the one the fit decided


def test_the_recorded_command_never_holds_a_header_value() -> None:
    from probes.cli.arguments import recorded_command

    argv = ["servebench", "--header", "Authorization: Bearer s3cret", "--hea", "Cookie: sessionid=abc"]
    argv += ["--header=X-Token: t0ken", "--workers", "1,2"]
    recorded = recorded_command(argv)
    assert not any(secret in word for word in recorded for secret in ("s3cret", "abc", "t0ken"))
    assert recorded == (
        "servebench", "--header", "Authorization: …", "--hea", "Cookie: …", "--header=X-Token: …", "--workers", "1,2",
    )  # fmt: skip
