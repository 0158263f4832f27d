"""What a sweep shows across its configurations: the scaling over worker counts (the Universal
Scalability Law, scaling.py) and the knee over connections (knee.py), attached to every run
they cover. A serial fraction from several worker counts says how serialized a view is more
surely than one run's X x t0, which hangs on a noisy t0: it decides the verdict when it fits.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

from ..model.across_runs import Knee, Scaling
from ..model.diagnosis import Verdict
from ..model.results import Run
from . import wording
from .figures import db_share_of_wait
from .knee import knee
from .scaling import SIGMA_THRESHOLDS, ScalingPoint, scaling

MIN_WORKER_COUNTS = 3  # a USL fit needs three worker counts (λ, σ, κ)
MIN_LEVELS = 3  # a knee needs three concurrency levels
# Verdicts the scaling fit replaces: those that say the view caps on a wait, or could not say.
REPLACEABLE = (
    Verdict.SERIALIZED,
    Verdict.CONTENDED,
    Verdict.UNCLASSIFIED,
    Verdict.IO_BOUND,
    Verdict.WORKER_LIMITED,
)


def _measured(run: Run) -> bool:
    """A closed-loop run with valid figures (an open loop's X is the offered rate, not the server's)."""
    return (
        bool(run.samples)
        and run.diagnosis is not None
        and run.rate is None
        and run.quality not in (Verdict.FAILING, Verdict.CLIENT_BOUND)
    )


def _groups(runs: Sequence[Run], key: Callable[[Run], Hashable]) -> dict[Hashable, list[int]]:
    groups: dict[Hashable, list[int]] = {}
    for index, run in enumerate(runs):
        if _measured(run):
            groups.setdefault(key(run), []).append(index)
    return groups


def points(run: Run) -> list[ScalingPoint]:
    """One ScalingPoint per measured window: X, the CPU per request of the configuration's roles."""
    return [
        ScalingPoint(
            workers=run.workers * run.threads,
            rps=sample.ok_per_s,
            cpu_s_per_request=sample.total_cpu_s_per_request,
            concurrency=run.concurrency,
            machine_busy_cores=sample.machine_busy_s / sample.wall_s if sample.wall_s else None,
        )
        for sample in run.samples
    ]


def _configuration(run: Run) -> Hashable:
    """One configuration, at any concurrency level."""
    return (run.path, run.kind, run.workers, run.threads, run.front, run.socket, run.app)


def levels_vary(runs: Sequence[Run]) -> bool:
    """A concurrency sweep: some configuration ran at more than one concurrency level."""
    return len({_configuration(run) for run in runs}) < len({(_configuration(run), run.concurrency) for run in runs})


def with_trends(runs: Sequence[Run]) -> list[Run]:
    """The runs, their diagnoses given the scaling and the knee of the groups they belong to."""
    result = list(runs)
    sweeping = levels_vary(runs)

    def server(run: Run) -> Hashable:  # one server and path; one level of a concurrency sweep
        return (run.path, run.kind, run.threads, run.front, run.socket, run.app, run.concurrency if sweeping else 0)

    for members in _groups(runs, server).values():
        if len({runs[i].workers for i in members}) < MIN_WORKER_COUNTS:
            continue
        cores = runs[members[0]].samples[0].cores
        unit = "workers x threads" if runs[members[0]].threads > 1 else "workers"  # N counts threads too: say so
        fitted = scaling([point for i in members for point in points(runs[i])], cores=cores, unit=unit)
        for i in members:
            result[i] = _scaled(result[i], fitted)

    for members in _groups(runs, _configuration).values():
        if len({runs[i].concurrency for i in members}) < MIN_LEVELS:
            continue
        rows = [
            (run.concurrency, sample.ok_per_s, sample.latency_ms.get("mean", 0.0) / 1000)
            for run in (runs[i] for i in members)
            for sample in run.samples
        ]
        found = knee(rows)
        for i in members:
            result[i] = _kneed(result[i], found)
    return result


def _kneed(run: Run, found: Knee) -> Run:
    assert run.diagnosis is not None
    return replace(run, diagnosis=replace(run.diagnosis, knee=found))


def _scaled(run: Run, fitted: Scaling) -> Run:
    """The run with the group's scaling; with σ >= 0.2 and several workers, the fit qualifies the verdict."""
    diagnosis = run.diagnosis
    assert diagnosis is not None
    fit = fitted.fit
    # Only a serial fraction the repeats are sure of (σ minus its ± above the threshold) names the verdict.
    surely = fit.serial_fraction - (fit.serial_fraction_err or 0.0) if fit is not None else 0.0
    one_worker = run.workers * run.threads < 2  # waits for nobody
    if fit is None or surely < SIGMA_THRESHOLDS["partly"] or one_worker or diagnosis.verdict not in REPLACEABLE:
        return replace(run, diagnosis=replace(diagnosis, scaling=fitted))
    f = diagnosis.figures
    share = None
    if f.app_wall_s is not None and f.t0_s is not None and f.db_s is not None:
        share = db_share_of_wait(app_wall_s=f.app_wall_s, t0_s=f.t0_s, db_s=f.db_s, app_runq_s=f.app_runq_s or 0.0)
    # The why stays this run's own; the fit is said once per group by the reports (Scaling.summary).
    qualified = replace(
        diagnosis,
        qualifier=fitted.verdict,
        advice=wording.serial_advice(fit, db_share=share, unit=fitted.unit, session_written=f.t0_session_written),
        scaling=fitted,
    )
    return replace(run, verdict=wording.verdict_text(qualified), diagnosis=qualified)
