"""A run's per-request segments (Figures): per measured window first, then the medians over the repeats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model.app import AppTotals
from ..model.diagnosis import LOCUST_MASTER_ROLE, REMOTE_CLIENT_ROLE, Figures, ViewTime
from ..model.results import Run, Sample
from ..model.stats import median

# nginx's $msec has millisecond resolution and is truncated: on average it
# stamps 0.5 ms early, which would read as queue time.
MSEC_STAMP_BIAS_S = 0.0005
# "instrument": servebench's timing wrapper inside the server (measured in-process, sweep.measure_window).
ROLES = ("view", "server", "instrument", "nginx", "client", "memcached", "database")
# Roles in the split only where a run measured them (results saved before them render as they did).
ONLY_WHERE_MEASURED = (LOCUST_MASTER_ROLE,)
# The timing wrapper times 1 request in 16 (and every one after a slow one); the app's CPU over all
# requests is extrapolated from those. A request's CPU is taken to vary by at most its mean (an
# exponential spread), the bound the extrapolation's standard error is quoted at.
SAMPLED_CPU_CV = 1.0


@dataclass(frozen=True)
class WindowFigures:
    """One measured window's figures per request (None: not measured, e.g. --no-timing)."""

    x: float
    r: float
    busy: float
    app_wall: float | None
    app_cpu: float | None
    app_runq: float | None
    queue: float | None
    db: float | None
    queries: float | None
    cpu: dict[str, float]  # by role (ROLES), the server's own without the view
    machine: float
    others: float
    process_busy: float | None
    loop_lag_ms: float | None  # an event loop's mean lateness (ASGI servers), None without ticks
    view_cpu_error: float | None = None  # the extrapolated view CPU's standard error (sampled_cpu_error_s)


def sampled_cpu_error_s(app: AppTotals) -> float | None:
    """The standard error of the app's CPU per request extrapolated from its sampled requests (None unsampled).

    Sampling n of N requests without replacement: cv x mean x sqrt((1 - n/N) / n); 0 when all were timed.
    """
    if not app.sampled_requests or not app.requests:
        return None
    n, total = app.sampled_requests, max(app.requests, app.sampled_requests)
    mean_s = app.app_cpu_ns / app.requests / 1e9
    return SAMPLED_CPU_CV * mean_s * math.sqrt((1 - n / total) / n)


def cpu_per_request(sample: Sample) -> dict[str, float]:
    """CPU seconds per request by role (ROLES): totals over one interval, divided by that side's completions.

    The server's processes' CPU by the requests they completed (the timing counters' count), the
    client's by its own; the view's CPU is the app's extrapolated total over the same count, and the
    server's own share is the server's total minus the view's, as totals: never two means with two
    denominators (issue 19: 45 requests at the client, 55 in the app, read as a 10 ms "server").
    Without the counters (--no-timing) every side is divided by the client's count, as before.
    """
    roles = (*ROLES, *(role for role in ONLY_WHERE_MEASURED if role in sample.cpu_s))
    per_request = {role: sample.cpu_s.get(role, 0.0) / (sample.completions(role) or 1) for role in roles}
    served = sample.served or 1
    view_total_s = sample.app.app_cpu_ns / 1e9 if sample.app.requests else 0.0
    own_s = max(0.0, sample.cpu_s.get("server", 0.0) - view_total_s)
    return {**per_request, "view": view_total_s / served, "server": own_s / served}


def window_figures(sample: Sample) -> WindowFigures:
    """The one place that reads the timing wrapper's counters (sample.app) of a window."""
    app = sample.app
    served = app.requests
    app_cpu = app.app_cpu_ns / served / 1e9 if served else None
    queued = app.queued_requests
    # The machine's busy time is read over the server's interval: by the server's count.
    over = sample.served or 1
    return WindowFigures(
        x=sample.ok_per_s,
        r=sample.latency_ms.get("mean", 0.0) / 1000,
        busy=sample.machine_busy_s / (sample.wall_s * sample.cores) if sample.wall_s and sample.cores else 0.0,
        app_wall=app.app_wall_ns / served / 1e9 if served else None,
        app_cpu=app_cpu,
        app_runq=app.app_runq_ns / served / 1e9 if served else None,
        queue=max(0.0, app.queue_ns / queued / 1e9 - MSEC_STAMP_BIAS_S) if queued else None,
        db=app.db_ns / served / 1e9 if served else None,
        queries=app.db_queries / served if served else None,
        cpu=cpu_per_request(sample),
        machine=sample.machine_busy_s / over,
        others=sample.unattributed_share,
        process_busy=(
            (sample.cpu_s.get("server", 0.0) + sample.cpu_s.get("instrument", 0.0))
            / sample.wall_s
            / len(sample.served_by_pid)
            if sample.served_by_pid and sample.wall_s
            else None
        ),
        loop_lag_ms=app.loop_lag_ns / app.loop_ticks / 1e6 if app.loop_ticks else None,
        view_cpu_error=sampled_cpu_error_s(app),
    )


def median_of(values: Iterable[float | None]) -> float | None:
    """The median of the values that were measured, None when none was."""
    measured = [value for value in values if value is not None]
    return median(measured) if measured else None


def figures(run: Run, t0: ViewTime | None) -> Figures:
    """The medians of the run's per-request segments."""
    rows = [window_figures(sample) for sample in run.samples]
    x = median_of(row.x for row in rows) or 0.0
    roles = (*ROLES, *(role for role in ONLY_WHERE_MEASURED if any(role in row.cpu for row in rows)))
    cpu = {role: median_of(row.cpu.get(role) for row in rows) or 0.0 for role in roles}
    machine = median_of(row.machine for row in rows) or 0.0
    # What no role accounts for: kernel work (loopback softirqs), the
    # generator's start-up, and any other process on the machine.
    if any(sample.client_remote for sample in run.samples):
        # The client ran on another host: its CPU is reported, but not this host's to reconcile or split.
        cpu[REMOTE_CLIENT_ROLE] = cpu.pop("client")
    cpu["unattributed"] = max(0.0, machine - sum(v for role, v in cpu.items() if role != REMOTE_CLIENT_ROLE))
    r = median_of(row.r for row in rows) or 0.0
    return Figures(
        throughput_rps=x,
        response_s=r,
        in_flight=x * r,
        concurrency=run.concurrency,
        capacity=run.workers * run.threads,
        cores=run.samples[0].cores if run.samples else 1,
        busy_fraction=median_of(row.busy for row in rows) or 0.0,
        t0_s=t0.wall_s if t0 else None,
        t0_cpu_s=t0.cpu_s if t0 else None,
        parallelism=x * t0.wall_s if t0 else None,
        app_wall_s=median_of(row.app_wall for row in rows),
        app_cpu_s=median_of(row.app_cpu for row in rows),
        app_runq_s=median_of(row.app_runq for row in rows),
        queue_s=median_of(row.queue for row in rows),
        db_s=median_of(row.db for row in rows),
        queries=median_of(row.queries for row in rows),
        cpu_per_request_s={role: value for role, value in cpu.items() if value > 0},
        machine_cpu_per_request_s=machine,
        serving_processes=max((len(sample.served_by_pid) for sample in run.samples), default=0),
        process_busy=median_of(row.process_busy for row in rows) or 0.0,
        others_busy=median_of(row.others for row in rows) or 0.0,
        # Carried into the server's own share too: it is the server's total minus the view's.
        view_cpu_error_s=median_of(row.view_cpu_error for row in rows),
        t0_session_written=t0.session_written if t0 else None,
    )


def loop_lag_ms(run: Run) -> float | None:
    """The event loop's mean lateness over the run (ASGI servers; median of the repeats), None without ticks."""
    return median_of(window_figures(sample).loop_lag_ms for sample in run.samples)


def db_share_of_wait(
    *, app_wall_s: float, t0_s: float, db_s: float, app_runq_s: float = 0.0, db_t0_s: float = 0.0
) -> float | None:
    """Of the wait inside the app (wall − run queue − t0), the share the DB timer saw (0..1); None: no wait.

    db_t0_s is the database time of an uncontended request; left at 0 the share is an upper bound.
    """
    wait = app_wall_s - app_runq_s - t0_s
    if wait <= 0:
        return None
    return min(1.0, max(0.0, db_s - db_t0_s) / wait)


def db_share(f: Figures) -> dict[str, float]:
    """{"db_share": s}: of the wait inside the app, the share that was database time, when the view queried."""
    if f.db_s is None or not f.queries or f.app_wall_s is None or f.t0_s is None:
        return {}
    share = db_share_of_wait(app_wall_s=f.app_wall_s, t0_s=f.t0_s, db_s=f.db_s, app_runq_s=f.app_runq_s or 0.0)
    return {"db_share": share} if share is not None else {}


def t0_from_runs(path: str, runs: Sequence[Run]) -> ViewTime | None:
    """t0 from the app's own time in a diagnosed 1-worker run of the path (when in-process could not give it)."""
    for run in runs:
        if run.path == path and run.workers * run.threads == 1 and run.diagnosis is not None:
            figures = run.diagnosis.figures
            if figures.app_wall_s:
                return ViewTime(figures.app_wall_s, figures.app_cpu_s or 0.0, "1-worker run")
    return None
