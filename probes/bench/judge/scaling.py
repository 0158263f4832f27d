"""How much of a view is serialized, and whether the CPU is what flattened it: the verdict over worker counts.

The fit (usl.py) runs on the points below the CPU ceiling only: a point whose
cores were full flattened because of the CPU, not because requests wait for one
another. So a CPU-bound view never comes out serialized, and a view whose
throughput flattens with idle cores gets its serial fraction σ: "partly
serialized (σ = 0.6)" rather than "unclassified".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..model.across_runs import Scaling
from . import wording
from .rules import CPU_WALL
from .usl import NotEnoughPoints, fit_usl

# The shape of the verdict. X can never exceed λ/σ, whatever the workers: σ ≥ 0.8 means
# no number of workers gives more than 1.25x one worker (serialized); σ ≥ 0.2, at most
# 5x (partly serialized); below, the view scales with workers.
SIGMA_THRESHOLDS = {"serialized": 0.8, "partly": 0.2}


def sigma_shape(sigma: float) -> str:
    """'serialized', 'partly serialized' or 'scales': what a serial fraction σ says."""
    if sigma >= SIGMA_THRESHOLDS["serialized"]:
        return "serialized"
    if sigma >= SIGMA_THRESHOLDS["partly"]:
        return "partly serialized"
    return "scales"


@dataclass(frozen=True)
class ScalingPoint:
    """One measured window of one worker count."""

    workers: int  # what serves at once: worker processes × threads
    rps: float
    # CPU per request of the configuration's own roles (server, view, client, nginx, database: Sample.cpu_s),
    # not the machine's: another process's load on a shared machine must not make a sleeping view CPU-bound.
    cpu_s_per_request: float | None = None
    concurrency: int | None = None  # the closed loop's connections
    machine_busy_cores: float | None = None  # every process's CPU over the window / wall (/proc/stat)

    @property
    def others_cores(self) -> float:
        """Cores other processes took in the window (the machine's busy cores beyond the roles')."""
        if self.machine_busy_cores is None or self.cpu_s_per_request is None:
            return 0.0
        return max(0.0, self.machine_busy_cores - self.rps * self.cpu_s_per_request)


def at_cpu_ceiling(point: ScalingPoint, *, cores: int, share: float = CPU_WALL) -> bool:
    """True when X × CPU per request fills `share` of the cores left to it: the CPU, not a wait, caps X.

    The share is the verdicts' CPU wall (rules.CPU_WALL): on 2 cores shared by client, server
    and database the round trips leave idle gaps, 80 % is full.
    Left to it: the cores minus what other processes took. On a shared machine a
    CPU-hungry view is capped by the cores the others leave; a sleeping view is not,
    though the machine is as busy.
    """
    if point.cpu_s_per_request is None or cores <= 0:
        return False
    return point.rps * point.cpu_s_per_request >= share * (cores - point.others_cores)


def scaling(points: Sequence[ScalingPoint], *, cores: int, share: float = CPU_WALL, unit: str = "workers") -> Scaling:
    """Fit the USL to the points below the CPU ceiling and with more connections than workers.

    The rule: a point at the CPU ceiling (`at_cpu_ceiling`) is left out; a worker count
    whose points are at it in the majority is CPU-bound. A worker count whose connections
    do not exceed its workers is load-limited, left out too. With fewer than 3 worker
    counts left there is no σ: the verdict is "cpu-bound, not serialized" when the CPU
    took the others, else none. `unit` says what N counts ("workers x threads" for threaded servers).
    """
    by_workers: dict[int, list[ScalingPoint]] = {}
    for point in points:
        by_workers.setdefault(point.workers, []).append(point)
    cpu_bound: list[int] = []
    load_limited: list[int] = []
    kept: list[tuple[float, float]] = []
    for workers, group in sorted(by_workers.items()):
        below = [p for p in group if not at_cpu_ceiling(p, cores=cores, share=share)]
        if 2 * len(below) < len(group):
            cpu_bound.append(workers)
        elif any(p.concurrency is not None and p.concurrency <= workers for p in group):
            load_limited.append(workers)
        else:
            kept.extend((p.workers, p.rps) for p in below)
    cpu = sorted(p.cpu_s_per_request for p in points if p.cpu_s_per_request)
    ceiling = cores / cpu[len(cpu) // 2] if cpu else None
    others = sorted(p.others_cores for p in points)
    base = Scaling(None, cores, ceiling, tuple(cpu_bound), tuple(load_limited), others[len(others) // 2], unit=unit)
    try:
        found = replace(base, fit=fit_usl(kept))
    except NotEnoughPoints as exc:
        found = replace(base, reason=wording.no_fit_reason(str(exc), base))
    advice = ""
    if found.fit is not None:
        scales = sigma_shape(found.fit.serial_fraction) == "scales"
        advice = wording.serial_advice(found.fit, db_share=None, unit=unit, scales=scales)
    return replace(found, verdict=_verdict(found), summary=wording.scaling_summary(found), advice=advice)


def _verdict(found: Scaling) -> str | None:
    """'partly serialized (σ = 0.62)' and the like, 'cpu-bound, not serialized', or None."""
    if found.fit is not None:
        shape = sigma_shape(found.fit.serial_fraction)
        if shape == "scales" and found.fit.clear_peak and found.fit.peak_workers:
            return wording.peak_label(found.fit, found.unit)  # κ: X falls past its peak, it does not scale
        return wording.sigma_label(shape, found.fit.serial_fraction)
    if found.cpu_bound_workers:
        return wording.CPU_BOUND_NOT_SERIALIZED
    return None
