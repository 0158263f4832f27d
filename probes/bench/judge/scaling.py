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
from typing import Any

from .usl import NotEnoughPoints, UslFit, fit_usl

# The shape of the verdict. X can never exceed λ/σ, whatever the workers: σ ≥ 0.8 means
# no number of workers gives more than 1.25x one worker (serialized); σ ≥ 0.2, at most
# 5x (partly serialized); below, the view scales with workers.
SIGMA_THRESHOLDS = {"serialized": 0.8, "partly": 0.2}


def sigma_label(sigma: float) -> str:
    """'serialized (σ = 0.97)', 'partly serialized (σ = 0.6)' or 'scales (σ = 0.05)'."""
    if sigma >= SIGMA_THRESHOLDS["serialized"]:
        return f"serialized (σ = {sigma:.2f})"
    if sigma >= SIGMA_THRESHOLDS["partly"]:
        return f"partly serialized (σ = {sigma:.2f})"
    return f"scales (σ = {sigma:.2f})"


# A point is at the CPU ceiling when its X × CPU per request fills this share of the
# cores left to it. The same wall as diagnosis.THRESHOLDS["cpu_saturated_busy"]: on 2
# cores shared by client, server and database the round trips leave idle gaps, 80 % is full.
CPU_CEILING_SHARE = 0.80


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


@dataclass(frozen=True)
class Scaling:
    """The scaling of one server and path over worker counts: the fit, or why there is none."""

    fit: UslFit | None
    cores: int
    cpu_ceiling_rps: float | None  # cores / CPU per request, median over the points
    cpu_bound_workers: tuple[int, ...] = ()  # at the CPU ceiling: left out of the fit
    load_limited_workers: tuple[int, ...] = ()  # connections ≤ workers: left out of the fit
    others_cores: float = 0.0  # cores other processes took, median over the points (a shared machine)
    reason: str = ""  # why there is no fit ("" when there is one)
    unit: str = "workers"  # what N counts: "workers", or "workers x threads" for threaded servers

    @property
    def verdict(self) -> str | None:
        """'partly serialized (σ = 0.62)' and the like, 'cpu-bound, not serialized', or None."""
        fit = self.fit
        if fit is not None:
            return sigma_label(fit.serial_fraction)
        if self.cpu_bound_workers:
            return "cpu-bound, not serialized"
        return None

    def summary(self) -> str:
        """One line (after the verdict): σ, κ and λ with their ±, a peak the data shows, the prediction;
        or why there is no fit."""
        fit = self.fit
        if fit is None:
            return self.reason

        def err(value: float | None, digits: int) -> str:
            return f" ± {value:.{digits}f}" if value is not None else ""

        text = (
            f"over {', '.join(str(n) for n in fit.worker_counts)} {self.unit}:"
            f" σ = {fit.serial_fraction:.2f}{err(fit.serial_fraction_err, 2)},"
            f" κ = {fit.coherency:.3f}{err(fit.coherency_err, 3)},"
            f" one worker {fit.single_worker_rps:,.0f}{err(fit.single_worker_rps_err, 0)} r/s"
        )
        if fit.clear_peak and fit.peak_workers is not None:
            text += f"; X peaks at {fit.peak_workers:.1f} {self.unit}"
        text += f"; ~{fit.predicted_rps:,.0f} r/s predicted with {fit.predicted_at_workers}"
        if self.cpu_bound_workers:
            text += f"; left out at the CPU ceiling: {_counts(list(self.cpu_bound_workers))}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The fit's figures at the top (diagnosis.scaling.serial_fraction, ...), then the ceiling."""
        fit = self.fit.to_dict() if self.fit else dict.fromkeys(_FIT_KEYS)
        return {
            **fit,
            "cores": self.cores,
            "cpu_ceiling_rps": self.cpu_ceiling_rps,
            "cpu_bound_workers": list(self.cpu_bound_workers),
            "load_limited_workers": list(self.load_limited_workers),
            "others_cores": self.others_cores,
            "reason": self.reason,
            "unit": self.unit,
            "verdict": self.verdict,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaling:
        fit = UslFit.from_dict({k: data[k] for k in _FIT_KEYS}) if data.get("serial_fraction") is not None else None
        return cls(
            fit=fit,
            cores=data["cores"],
            cpu_ceiling_rps=data["cpu_ceiling_rps"],
            cpu_bound_workers=tuple(data["cpu_bound_workers"]),
            load_limited_workers=tuple(data["load_limited_workers"]),
            others_cores=data.get("others_cores", 0.0),
            reason=data["reason"],
            unit=data.get("unit", "workers"),
        )


_FIT_KEYS = tuple(UslFit.__dataclass_fields__)


def at_cpu_ceiling(point: ScalingPoint, *, cores: int, share: float = CPU_CEILING_SHARE) -> bool:
    """True when X × CPU per request fills `share` of the cores left to it: the CPU, not a wait, caps X.

    Left to it: the cores minus what other processes took. On a shared machine a
    CPU-hungry view is capped by the cores the others leave; a sleeping view is not,
    though the machine is as busy.
    """
    if point.cpu_s_per_request is None or cores <= 0:
        return False
    return point.rps * point.cpu_s_per_request >= share * (cores - point.others_cores)


def scaling(points: Sequence[ScalingPoint], *, cores: int, share: float = CPU_CEILING_SHARE) -> Scaling:
    """Fit the USL to the points below the CPU ceiling and with more connections than workers.

    The rule: a point at the CPU ceiling (`at_cpu_ceiling`) is left out; a worker count
    whose points are at it in the majority is CPU-bound. A worker count whose connections
    do not exceed its workers is load-limited, left out too. With fewer than 3 worker
    counts left there is no σ: the verdict is "cpu-bound, not serialized" when the CPU
    took the others, else none.
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
    base = Scaling(None, cores, ceiling, tuple(cpu_bound), tuple(load_limited), others[len(others) // 2])
    try:
        return replace(base, fit=fit_usl(kept))
    except NotEnoughPoints as exc:
        left_out = []
        if cpu_bound:
            taken = f", {base.others_cores:.1f} of them taken by other processes" if base.others_cores >= 0.1 else ""
            left_out.append(
                f"{_counts(cpu_bound)} at the CPU ceiling (~{ceiling or 0:,.0f} r/s on {cores} cores{taken})"
            )
        if load_limited:
            left_out.append(f"{_counts(load_limited)} load-limited (connections ≤ workers)")
        return replace(base, reason=str(exc) + (f"; left out: {'; '.join(left_out)}" if left_out else ""))


def _counts(workers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in workers) + (" worker" if workers == [1] else " workers")


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


def serial_advice(fit: UslFit, *, db_share: float | None, unit: str = "workers") -> str:
    """What to do about a serial fraction, naming the database's share of the wait when it is known."""
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
    if db_share is None:
        return f"{head}: find what the requests share (a lock, a connection pool, the database)"
    if db_share >= 0.5:
        return (
            f"{head}: {100 * db_share:.0f} % of the wait is database time: the database serializes"
            " (SQLite's single writer: PostgreSQL, or sessions in the cache)"
        )
    return f"{head}: only {100 * db_share:.0f} % of the wait is database time: look for a lock in the app"
