"""The verdicts proven on the calibration views, against real servers (measured windows of 3 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probes.bench.judge.across_runs import with_trends
from probes.bench.loadgen.plan import LoadPlan, default_generator
from probes.bench.measure.sweep import diagnosed, measure_config
from probes.bench.measure.t0 import measure_view_cost
from probes.bench.model.diagnosis import Verdict, ViewTime
from probes.bench.model.results import Run
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.memcached import Memcached
from probes.job import project
from probes.job.launcher import Launcher
from tests.conftest import require_binary

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def launcher(memcached: Memcached) -> Iterator[Launcher]:
    require_binary("nginx")
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        yield Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=memcached)


def t0(path: str) -> ViewTime:
    cost = measure_view_cost(project.wsgi_application(), name=path, path=path, host=project.host_header())
    assert cost.status == 200
    return ViewTime(cost.wall_us_median / 1e6, cost.cpu_us_median / 1e6, "in-process")


def measure(
    launcher: Launcher, path: str, workers: int, *, view_time: ViewTime | None = None, rate: float | None = None
) -> Run:
    plan = LoadPlan(
        path=path,
        host_header=launcher.host_header,
        generator="builtin" if rate else default_generator(),  # only the built-in client holds a rate
        duration_s=3.0,
        max_window_s=3.0,  # 3 s windows, as these verdicts were calibrated on (shared ones still set aside)
        warmup_s=0.5,
        repeat=1,
        rate=rate,
    )
    run = measure_config(ServerConfig("gunicorn", workers, front="nginx"), plan, start=launcher.start, service_pids={})
    assert run.quality != "failing", run.quality_reasons
    return diagnosed(run, view_time or t0(path))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_40_ms_views_cpu_is_the_views_and_the_server_owns_little(launcher: Launcher, workers: int) -> None:
    """One accounting (issue 19): at 1 or 2 workers and 8 connections a 40 ms view's window has ~8 requests
    in flight at each edge; the server's CPU over the requests it completed leaves its own share tiny, and
    the server side's CPU per request is the view's (t0) plus that little."""
    path = "/probes/cpu/?ms=40"
    plan = LoadPlan(
        path=path,
        host_header=launcher.host_header,
        generator=default_generator(),
        concurrency=8,
        duration_s=2.0,
        max_window_s=2.0,  # a 2 s window, as the issue measured: 50 requests, not the 200 a window aims at
        warmup_s=0.5,
        repeat=1,
    )
    view = t0(path)
    config = ServerConfig("gunicorn", workers, front="direct")
    run = diagnosed(measure_config(config, plan, start=launcher.start, service_pids={}), view)
    assert run.quality != "failing", run.quality_reasons
    assert run.diagnosis is not None
    shares, cpu = run.diagnosis.shares, run.diagnosis.figures.cpu_per_request_s
    assert shares.get("server", 0.0) < 0.03, (shares, run.diagnosis.why)
    assert cpu["view"] == pytest.approx(view.cpu_s, rel=0.05), (cpu, view)
    server_side = sum(cpu.get(role, 0.0) for role in ("view", "server", "instrument"))
    assert server_side == pytest.approx(view.cpu_s + cpu.get("server", 0.0), rel=0.10), (cpu, view)


def rate(run: Run) -> float:
    return float(run.diagnosis.figures.throughput_rps)


def test_sleep_is_io_bound_and_scales_with_workers(launcher: Launcher) -> None:
    one = measure(launcher, "/probes/sleep/?ms=20", 1)
    four = measure(launcher, "/probes/sleep/?ms=20", 4)
    assert one.verdict == "io-bound", one.diagnosis.why
    assert rate(four) / rate(one) >= 3


def test_cpu_is_saturated_and_owned_by_the_view(launcher: Launcher) -> None:
    run = measure(launcher, "/probes/cpu/?ms=10", 4)
    cores = run.diagnosis.figures.cores
    assert 0.7 <= rate(run) * 0.010 / cores <= 1.05
    assert run.verdict == "cpu-saturated", run.diagnosis.why
    assert run.diagnosis.owner == "view"
    # 4 spinning workers on 2 cores: much of the app's wall is spent waiting for a CPU.
    figures = run.diagnosis.figures
    assert figures.app_runq_s >= 0.2 * figures.app_wall_s


def test_lock_is_serialized_inside_the_app(launcher: Launcher) -> None:
    run = measure(launcher, "/probes/lock/?ms=10", 4)
    assert 0.8 <= run.diagnosis.figures.parallelism <= 1.1
    assert run.verdict == "serialized", run.diagnosis.why
    assert "the wait is inside the app" in run.diagnosis.why
    # The wait is the lock, not the CPUs: the run queue explains little of it.
    figures = run.diagnosis.figures
    assert figures.app_runq_s < 0.3 * (figures.app_wall_s - figures.app_cpu_s)


def test_trivial_behind_nginx_is_cpu_bound_by_server_and_nginx(launcher: Launcher) -> None:
    run = measure(launcher, "/probes/trivial/", 2)
    shares = run.diagnosis.shares
    assert run.verdict == "cpu-saturated", run.diagnosis.why
    assert shares["server"] + shares["nginx"] > shares["view"] > 0
    assert "view" in run.diagnosis.why  # the app's share is shown


def test_trivial_at_a_rate_well_under_capacity_is_rate_limited_and_nothing_waits(launcher: Launcher) -> None:
    run = measure(launcher, "/probes/trivial/", 2, rate=300.0)
    assert run.diagnosis is not None
    assert run.verdict == "rate-limited", run.diagnosis.why
    assert "wait for each other" not in run.diagnosis.why
    # The headroom is the cores' capacity at the measured CPU per request, far above the offered rate.
    assert run.diagnosis.finding is not None and run.diagnosis.finding.rule == "rate_kept"
    assert run.diagnosis.finding.numbers["cpu_cap_rps"] > 3 * 300


# A session view computes ~2 ms per request: one worker fills its one core, and four contend for the
# cores (and SQLite's single writer). Other processes on this machine may take the cores: machine-shared.
# With four workers one run of session-db reads `contended` (requests wait for each other inside the app,
# X x t0 well under the workers) or `serialized`: one run names that contention, never `unclassified`. A run
# whose client never filled the workers, or whose client was the limit, is no wrong verdict either.
UNNAMED = {Verdict.LOAD_LIMITED, Verdict.CLIENT_BOUND}
SESSION_VERDICTS = {
    1: {Verdict.WORKER_LIMITED, Verdict.IO_BOUND, Verdict.CPU_SATURATED, Verdict.MACHINE_SHARED} | UNNAMED,
    4: {Verdict.SERIALIZED, Verdict.CONTENDED, Verdict.CPU_SATURATED, Verdict.MACHINE_SHARED} | UNNAMED,
}


@pytest.mark.parametrize("probe", ["session-db", "session-cache"])
def test_session_verdicts_match_what_was_measured(
    launcher: Launcher, memcached_sessions: Memcached, probe: str
) -> None:
    path = f"/probes/{probe}/"
    project.prepare_owned_database()
    for workers in (1, 4):
        run = measure(launcher, path, workers)
        finding = run.diagnosis.finding
        assert finding is not None and run.verdict == finding.verdict, (run.verdict, run.diagnosis.why)
        assert finding.verdict in SESSION_VERDICTS[workers], (finding, run.diagnosis.why)


def _over(
    launcher: Launcher, path: str, *, workers: tuple[int, ...], levels: tuple[int | None, ...] = (None,)
) -> list[Run]:
    """A sweep of one gunicorn configuration per worker count and connection level, with its trends."""
    view = t0(path)
    runs = []
    for count in workers:
        for level in levels:
            plan = LoadPlan(
                path=path,
                host_header=launcher.host_header,
                generator=default_generator(),
                concurrency=level,
                duration_s=1.0,
                warmup_s=0.5,
                repeat=2,
                # The fits read every window's X: 2 windows of at most 1 s each keep the sweep short. The views
                # below take half the milliseconds they were calibrated on with 2 s windows, so a window holds
                # the same requests (the precision of X hangs on the requests, not on the seconds).
                max_repeat=2,
                max_window_s=1.0,
            )
            config = ServerConfig("gunicorn", count, front="direct")
            runs.append(diagnosed(measure_config(config, plan, start=launcher.start, service_pids={}), view))
    return with_trends(runs)


def test_the_serial_fraction_tells_a_lock_a_wait_and_the_cpu_apart(launcher: Launcher) -> None:
    lock = _over(launcher, "/probes/lock/?ms=5", workers=(1, 2, 4))[-1]
    assert lock.diagnosis is not None and lock.diagnosis.scaling is not None
    fit = lock.diagnosis.scaling.fit
    # 5 ms of a ~5.5 ms request under one lock: σ near 5/5.5, never "scales".
    assert fit is not None and fit.serial_fraction >= 0.7, lock.diagnosis.scaling.summary
    assert lock.verdict.startswith("serialized") or lock.verdict.startswith("partly serialized")
    sleep = _over(launcher, "/probes/sleep/?ms=15", workers=(1, 2, 4))[-1]
    assert sleep.diagnosis is not None and sleep.diagnosis.scaling is not None
    fit = sleep.diagnosis.scaling.fit
    assert fit is not None and fit.serial_fraction < 0.2, sleep.diagnosis.scaling.summary
    assert "serialized" not in sleep.verdict
    cpu = _over(launcher, "/probes/cpu/?ms=5", workers=(1, 2, 4))
    scaling = cpu[-1].diagnosis.scaling if cpu[-1].diagnosis else None
    assert scaling is not None and scaling.verdict == "cpu-bound, not serialized", scaling
    assert not any("serialized" in run.verdict and "not serialized" not in run.verdict for run in cpu)


def test_the_knee_of_a_15_ms_wait_on_4_workers_is_at_4_connections(launcher: Launcher) -> None:
    runs = _over(launcher, "/probes/sleep/?ms=15", workers=(4,), levels=(1, 2, 4, 8, 16))
    knee = runs[0].diagnosis.knee if runs[0].diagnosis else None
    assert knee is not None
    assert knee.knee_concurrency == 4, knee.summary
    assert 3.0 <= knee.littles_concurrency <= 5.0, knee.summary  # X_max x R_min = 4 workers / 15 ms x 15 ms
    assert knee.queueing_from is not None and knee.queueing_from <= 8, knee.summary  # beyond 4: only the queue grows
