"""Under ASGI, how much of a request's CPU asgiref's sync<->async crossings and new threads explain.

The ASGI wrapper counts them on its sampled requests (timing.crossings): the
crossings, the threads started, and what crossed. This rule turns a run's
counts into per-request figures and an estimate of their CPU, at what one
crossing and one thread cost on this machine, measured by
benchmarks/asgi_timing_overhead.py ("micro:" line: a crossing on an existing
thread 49–51 µs of CPU; a request's ThreadSensitiveContext executor and its
joining thread 178–186 µs together, Python 3.11, asgiref 3.13, 2 shared cores).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..model.results import Run
from ..model.stats import median
from ..servers.kinds import KINDS

CROSSING_COST_S = 50e-6
THREAD_COST_S = 90e-6
# Below half a crossing per request, nothing crossed worth a sentence (an async stack).
SOME = 0.5


@dataclass(frozen=True)
class Crossings:
    """A run's crossings and new threads per request, what crossed, and the CPU they explain."""

    crossings: float  # per request, over the sampled requests counted (median over the windows)
    threads: float
    by_name: tuple[tuple[str, float], ...]  # ("middleware:X.process_request", per request), as they crossed
    estimated_s: float  # crossings x CROSSING_COST_S + threads x THREAD_COST_S
    app_cpu_s: float | None  # the worker's CPU per request it is a part of (Figures.app_cpu_s)


def crossings(run: Run, app_cpu_s: float | None) -> Crossings | None:
    """The crossings of an ASGI run whose wrapper counted some; None otherwise (WSGI, untimed, all async)."""
    kind = KINDS.get(run.kind)
    counted = [sample.app for sample in run.samples if sample.app.counted_requests]
    if kind is None or kind.interface != "asgi" or not counted:
        return None
    per_request = median([app.crossings / app.counted_requests for app in counted])
    threads = median([app.new_threads / app.counted_requests for app in counted])
    if per_request < SOME and threads < SOME:
        return None
    names: Counter[str] = Counter()
    for app in counted:
        names.update(app.crossed)
    requests = sum(app.counted_requests for app in counted)
    by_name = tuple((name, n / requests) for name, n in names.items())  # the order they first crossed in
    estimated = per_request * CROSSING_COST_S + threads * THREAD_COST_S
    return Crossings(per_request, threads, by_name, estimated, app_cpu_s)
