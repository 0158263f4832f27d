"""At one worker: would concurrency inside the worker (an event loop, greenlets) help, or can async not help?

A view that waits (I/O, a sleep) holds a sync worker for its whole wall time;
an async-capable server (uvicorn or granian-asgi with an async view,
gunicorn-gevent's greenlets) overlaps those waits inside one process. A view
that computes holds the CPU instead: one process runs one request's Python at
a time whatever the server, so async cannot help it.
"""

from __future__ import annotations

from dataclasses import replace

from ..model.diagnosis import Diagnosis, Hint, Verdict
from ..model.results import Run
from ..servers.kinds import KINDS
from . import wording
from .figures import loop_lag_ms

# The view's CPU at or above this share of its uncontended time (t0): it computes rather than waits.
CPU_BOUND_SHARE = 0.5
CPU_BOUND_VERDICTS = (Verdict.CPU_SATURATED, Verdict.WORKER_LIMITED)


def hint(run: Run, diagnosis: Diagnosis) -> Hint | None:
    """Would concurrency inside one worker help this run (the rule and its numbers); None: it does not apply."""
    if run.workers != 1 or not run.samples or run.quality in (Verdict.FAILING, Verdict.CLIENT_BOUND):
        return None
    if diagnosis.verdict == Verdict.MACHINE_SHARED:  # another process's load set the figures, not the view
        return None
    kind = KINDS.get(run.kind)
    f = diagnosis.figures
    uncontended_s = f.t0_s or f.app_wall_s
    if kind is None or uncontended_s is None or f.app_cpu_s is None:
        return None
    lag = loop_lag_ms(run)
    numbers = {"loop_lag_ms": lag} if lag is not None else {}
    if diagnosis.verdict in CPU_BOUND_VERDICTS or f.app_cpu_s >= CPU_BOUND_SHARE * uncontended_s:
        return Hint("view_computes", {**numbers, "app_cpu_s": f.app_cpu_s})
    if kind.blocking_driver_blocks_worker and f.queries:  # greenlets block on a driver that does not yield
        numbers["blocking_queries"] = f.queries
    if kind.concurrent_in_worker:
        return Hint("worker_overlaps", {**numbers, "in_flight": f.in_flight})
    return Hint("view_waits", numbers)


def advice(run: Run, diagnosis: Diagnosis) -> str | None:
    """What concurrency inside one worker would do for this run, or None where it does not apply."""
    found = hint(run, diagnosis)
    return wording.concurrency_advice(found, run.kind) if found is not None else None


def with_advice(run: Run, diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis with the concurrency advice appended to its own, where it applies."""
    extra = advice(run, diagnosis)
    return replace(diagnosis, advice=f"{diagnosis.advice}; {extra}") if extra else diagnosis
