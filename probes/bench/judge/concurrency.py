"""At one worker: would concurrency inside the worker (an event loop, greenlets) help, or can async not help?

A view that waits (I/O, a sleep) holds a sync worker for its whole wall time;
an async-capable server (uvicorn or granian-asgi with an async view,
gunicorn-gevent's greenlets) overlaps those waits inside one process. A view
that computes holds the CPU instead: one process runs one request's Python at
a time whatever the server, so async cannot help it.
"""

from __future__ import annotations

from dataclasses import replace

from ..model.diagnosis import Diagnosis
from ..model.results import Run
from ..model.stats import median
from ..servers.kinds import KINDS

# The view's CPU at or above this share of its uncontended time (t0): it computes rather than waits.
CPU_BOUND_SHARE = 0.5
CPU_BOUND_VERDICTS = ("cpu-saturated", "worker-limited")


def loop_lag_ms(run: Run) -> float | None:
    """The event loop's mean lateness over the run (ASGI servers; median of the repeats), None without ticks."""
    values = [sample.app.loop_lag_ns / sample.app.loop_ticks / 1e6 for sample in run.samples if sample.app.loop_ticks]
    return median(values) if values else None


def advice(run: Run, diagnosis: Diagnosis) -> str | None:
    """What concurrency inside one worker would do for this run, or None where it does not apply."""
    if run.workers != 1 or not run.samples or run.quality in ("failing", "client-bound"):
        return None
    if diagnosis.verdict == "machine-shared":  # another process's load set the figures, not the view
        return None
    kind = KINDS.get(run.kind)
    f = diagnosis.figures
    uncontended_s = f.t0_s or f.app_wall_s
    if kind is None or uncontended_s is None or f.app_cpu_s is None:
        return None
    lag = loop_lag_ms(run)
    lag_text = f", the event loop ran {lag:.1f} ms late on average" if lag is not None else ""
    if diagnosis.verdict in CPU_BOUND_VERDICTS or f.app_cpu_s >= CPU_BOUND_SHARE * uncontended_s:
        return (
            f"async will not help: the view computes ({1000 * f.app_cpu_s:.1f} ms CPU per request{lag_text});"
            " more processes, up to the cores, or a cheaper view do"
        )
    text = (
        f"concurrency inside the worker is what helps: {run.kind} overlaps the waits of"
        f" {f.in_flight:.0f} requests in one process{lag_text}"
        if kind.concurrent_in_worker
        else "concurrency inside the worker is what helps: the view waits, and an async view under uvicorn or"
        " granian-asgi (or gunicorn-gevent's greenlets) overlaps those waits in one process"
    )
    if run.kind == "gunicorn-gevent" and f.queries:
        text += (
            f"; its {f.queries:.0f} database queries per request block every greenlet of the worker unless the"
            " driver yields to gevent (SQLite and psycopg 3 do not)"
        )
    return text


def with_advice(run: Run, diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis with the concurrency advice appended to its own, where it applies."""
    extra = advice(run, diagnosis)
    return replace(diagnosis, advice=f"{diagnosis.advice}; {extra}") if extra else diagnosis
