"""The sentences of what concurrency inside a worker would do (concurrency.py) and of what runs show
together: the scaling fit (scaling.py) and the knee (knee.py)."""

from __future__ import annotations

from collections.abc import Sequence

from ...model.across_runs import Knee, Scaling, UslFit
from ...model.diagnosis import Hint
from ...servers.kinds import KINDS


def _overlapping_kinds() -> str:
    """'uvicorn or granian-asgi (or gunicorn-gevent's greenlets)': the kinds that overlap requests in a worker."""
    loops = [k.name for k in KINDS.values() if k.concurrent_in_worker and k.interface == "asgi"]
    greenlets = [f"{k.name}'s greenlets" for k in KINDS.values() if k.concurrent_in_worker and k.interface != "asgi"]
    return " or ".join(loops) + (f" (or {' or '.join(greenlets)})" if greenlets else "")


def concurrency_advice(hint: Hint, kind: str) -> str:
    """What concurrency inside one worker would do (concurrency.py's hint)."""
    n = hint.numbers
    lag_text = f", the event loop ran {n['loop_lag_ms']:.1f} ms late on average" if "loop_lag_ms" in n else ""
    if hint.rule == "view_computes":
        return (
            f"async will not help: the view computes ({1000 * n['app_cpu_s']:.1f} ms CPU per request{lag_text});"
            " more processes, up to the cores, or a cheaper view do"
        )
    text = (
        f"concurrency inside the worker is what helps: {kind} overlaps the waits of"
        f" {n['in_flight']:.0f} requests in one process{lag_text}"
        if hint.rule == "worker_overlaps"
        else "concurrency inside the worker is what helps: the view waits, and an async view under"
        f" {_overlapping_kinds()} overlaps those waits in one process"
    )
    if "blocking_queries" in n:
        text += (
            f"; its {n['blocking_queries']:.0f} database queries per request block every greenlet of the worker"
            " unless the driver yields to gevent (SQLite and psycopg 3 do not)"
        )
    return text


def sigma_label(shape: str, sigma: float) -> str:
    """'serialized (σ = 0.97)', 'partly serialized (σ = 0.60)' or 'scales (σ = 0.05)' (scaling.py decides the shape)."""
    return f"{shape} (σ = {sigma:.2f})"


def worker_counts(workers: Sequence[int]) -> str:
    """'1 worker', '2, 4 workers'."""
    return ", ".join(str(n) for n in workers) + (" worker" if list(workers) == [1] else " workers")


def no_fit_reason(reason: str, scaling: Scaling) -> str:
    """Why there is no fit, with the worker counts left out of it and why."""
    left_out = []
    if scaling.cpu_bound_workers:
        others = scaling.others_cores
        taken = f", {others:.1f} of them taken by other processes" if others >= 0.1 else ""
        left_out.append(
            f"{worker_counts(scaling.cpu_bound_workers)} at the CPU ceiling"
            f" (~{scaling.cpu_ceiling_rps or 0:,.0f} r/s on {scaling.cores} cores{taken})"
        )
    if scaling.load_limited_workers:
        left_out.append(f"{worker_counts(scaling.load_limited_workers)} load-limited (connections ≤ workers)")
    return reason + (f"; left out: {'; '.join(left_out)}" if left_out else "")


def scaling_summary(scaling: Scaling) -> str:
    """One line (after the verdict): σ, κ and λ with their ±, a peak the data shows, the prediction;
    or why there is no fit."""
    fit, unit = scaling.fit, scaling.unit
    if fit is None:
        return scaling.reason

    def err(value: float | None, digits: int) -> str:
        return f" ± {value:.{digits}f}" if value is not None else ""

    text = (
        f"over {', '.join(str(n) for n in fit.worker_counts)} {unit}:"
        f" σ = {fit.serial_fraction:.2f}{err(fit.serial_fraction_err, 2)},"
        f" κ = {fit.coherency:.3f}{err(fit.coherency_err, 3)},"
        f" one worker {fit.single_worker_rps:,.0f}{err(fit.single_worker_rps_err, 0)} r/s"
    )
    if fit.clear_peak and fit.peak_workers is not None:
        text += f"; X peaks at {fit.peak_workers:.1f} {unit}"
    text += f"; ~{fit.predicted_rps:,.0f} r/s predicted with {fit.predicted_at_workers}"
    if scaling.cpu_bound_workers:
        text += f"; left out at the CPU ceiling: {worker_counts(scaling.cpu_bound_workers)}"
    return text


def serial_advice(
    fit: UslFit,
    *,
    db_share: float | None,
    unit: str = "workers",
    session_written: bool | None = None,
    scales: bool = False,
) -> str:
    """What to do about a serial fraction, naming the database's share of the wait when it is known (and the
    session the view saves, only when it saves one); for a fit that scales, where it peaks or that it grows."""
    sigma = fit.serial_fraction
    if fit.clear_peak and fit.peak_workers:
        cap = f"X peaks near {fit.peak_workers:.0f} {unit}"
    elif sigma <= 0:
        cap = f"X grows with the {unit}"
    else:
        cap = f"no number of {unit} gives more than ~{fit.single_worker_rps / sigma:,.0f} r/s"
    head = (
        f"σ = {sigma:.2f}: {100 * sigma:.0f} % of a request's work runs one at a time; {cap};"
        f" ~{fit.predicted_rps:,.0f} r/s expected with {fit.predicted_at_workers} {unit}"
    )
    if scales:  # scaling.sigma_shape decided it
        if fit.clear_peak and fit.peak_workers:
            peak = f"~{fit.peak_workers:.0f} {unit}"
            return f"{head}: past {peak} the requests slow one another (κ = {fit.coherency:.3f})"
        return f"{head}: more {unit} help, up to the cores"
    if db_share is None:
        return f"{head}: find what the requests share (a lock, a connection pool, the database)"
    if db_share >= 0.5:
        text = (
            f"{head}: {100 * db_share:.0f} % of the wait is database time: the database serializes"
            " (SQLite admits one writer at a time)"
        )
        if session_written:
            text += "; this view saves a session on every request: sessions in the cache (or in PostgreSQL)"
        return text
    return f"{head}: only {100 * db_share:.0f} % of the wait is database time: look for a lock in the app"


def peak_label(fit: UslFit, unit: str) -> str:
    """'peaks at 2 workers (σ = 0.00, κ = 0.120)': a fit whose coherency gives it a peak never 'scales'."""
    assert fit.peak_workers is not None
    return f"peaks at {fit.peak_workers:.0f} {unit} (σ = {fit.serial_fraction:.2f}, κ = {fit.coherency:.3f})"


def knee_summary(knee: Knee) -> str:
    """One line: the knee, Little's N*, and where latency grows for nothing."""
    text = (
        f"knee at {knee.knee_concurrency} connections ({knee.peak_rps:,.0f} r/s peak at {knee.peak_concurrency});"
        f" Little's law N* = X_max × R_min = {knee.littles_concurrency:.1f}"
    )
    start = knee.queueing_from
    if start is not None:
        last = knee.levels[-1]
        first = next(level for level in knee.levels if level.concurrency == start)
        growth = 100 * (last.response_s / first.response_s - 1) if first.response_s else 0.0
        gain = 100 * (last.throughput_rps / first.throughput_rps - 1) if first.throughput_rps else 0.0
        text += (
            f"; from {start} to {last.concurrency} connections latency grows {growth:+.0f} %"
            f" for {gain:+.0f} % r/s: queueing only"
        )
    return text
