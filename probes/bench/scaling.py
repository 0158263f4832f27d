"""How much of a view is serialized: the Universal Scalability Law fitted over worker counts.

X(N) = λN / (1 + σ(N−1) + κN(N−1)) (Gunther): λ is one worker's r/s, σ the serial
fraction (0: scales linearly, 1: one request at a time), κ the coherency penalty
(workers slow each other down: X peaks at N* = √((1−σ)/κ), then falls).

Least squares over every repeat, σ in [0, 1] and κ ≥ 0. For fixed (σ, κ) the
model is linear in λ, so λ has a closed form and only (σ, κ) is searched: a grid,
then a bounded pattern search from its best cell. Deterministic, no numpy.

The CPU is a ceiling apart (`scaling`): a point whose cores were busy flattened
because of the CPU, not because requests wait for one another, so it is left out
of the fit; a CPU-bound view never comes out serialized. Nothing here uses t0, the
in-process view time: the verdict no longer hangs on one noisy measurement.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# σ on this grid, κ on a log grid (plus 0); the pattern search refines from the best cell.
_SIGMA_GRID = tuple(i / 20 for i in range(21))
_KAPPA_GRID = (0.0, *(10 ** (e / 4) for e in range(-20, 1)))  # 1e-5 .. 1
_KAPPA_MAX = 1.0
_BOOTSTRAP_ROUNDS = 200
_SEED = 11  # the bootstrap is seeded: the same points give the same uncertainties
_MAX_STEPS = 400
_Best = tuple[float, float, float, float]


class NotEnoughPoints(ValueError):
    """Fewer than 3 worker counts with a positive throughput: σ and κ cannot be told apart."""


@dataclass(frozen=True)
class UslFit:
    """The Universal Scalability Law fitted to (workers, r/s) points; ± are bootstrap standard deviations."""

    single_worker_rps: float  # λ
    serial_fraction: float  # σ
    coherency: float  # κ
    single_worker_rps_err: float | None  # None: a worker count had one repeat, no bootstrap over repeats
    serial_fraction_err: float | None
    coherency_err: float | None
    peak_workers: float | None  # N* = √((1−σ)/κ); None when κ = 0 (no peak: X keeps rising or flattens)
    predicted_rps: float  # X at twice the largest N measured
    predicted_at_workers: int
    r_squared: float  # 1 − SSE/SST over the points (1.0 when every point is equal and fitted exactly)
    rmse_pct: float  # root mean square residual, % of the mean r/s
    n_points: int
    worker_counts: tuple[int, ...]

    def rps_at(self, workers: float) -> float:
        """The fitted X at `workers`."""
        return self.single_worker_rps * _shape(workers, self.serial_fraction, self.coherency)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "worker_counts": list(self.worker_counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UslFit:
        return cls(**{**data, "worker_counts": tuple(data["worker_counts"])})


def _shape(n: float, sigma: float, kappa: float) -> float:
    return n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def _solve(points: Sequence[tuple[float, float]], sigma: float, kappa: float) -> tuple[float, float]:
    """(λ, SSE) for fixed σ, κ: λ = Σ X g / Σ g² (the least-squares λ of a model linear in λ)."""
    xg = gg = xx = 0.0
    for n, x in points:
        g = _shape(n, sigma, kappa)
        xg += x * g
        gg += g * g
        xx += x * x
    lam = xg / gg
    return lam, max(0.0, xx - xg * lam)


def _refine(
    points: Sequence[tuple[float, float]], sigma: float, kappa: float, *, with_kappa: bool
) -> tuple[float, float, float, float]:
    """(λ, σ, κ, SSE): a bounded pattern search from (σ, κ); κ moves in log steps (it spans decades)."""
    lam, sse = _solve(points, sigma, kappa)
    step_s, step_k = 0.05, 1.0  # step_k: natural-log units
    moves = ((1, 0), (-1, 0), (0, 1), (0, -1)) if with_kappa else ((1, 0), (-1, 0))
    for _ in range(_MAX_STEPS):
        if step_s < 1e-5:
            break
        moved = False
        for ds, dk in moves:
            s = min(1.0, max(0.0, sigma + ds * step_s))
            if dk == 0:
                k = kappa
            elif kappa == 0.0:
                k = _KAPPA_GRID[1] if dk > 0 else 0.0
            else:
                k = kappa * math.exp(dk * step_k)
                k = 0.0 if k < _KAPPA_GRID[1] / 100 else min(_KAPPA_MAX, k)
            cand_lam, cand_sse = _solve(points, s, k)
            if cand_sse < sse * (1 - 1e-9):
                lam, sse, sigma, kappa, moved = cand_lam, cand_sse, s, k, True
        if not moved:
            step_s, step_k = step_s / 2, step_k / 2
    return lam, sigma, kappa, sse


def _bic(sse: float, n: int, params: int) -> float:
    return n * math.log(max(sse, 1e-12) / n) + params * math.log(n)


def _search(points: Sequence[tuple[float, float]], start: tuple[float, float] | None = None) -> _Best:
    """(λ, σ, κ, SSE) by least squares; κ = 0 unless κ pays for itself (a lower BIC).

    With 3 worker counts, σ and κ trade off against the noise: a flat X fits
    σ = 1, κ = 0 and σ = 0.9, κ = 0.006 about as well. Parsimony keeps the first.
    """
    if start is None:
        grid = [(*_solve(points, s, k), s, k) for s in _SIGMA_GRID for k in _KAPPA_GRID]
        # Ties: the smaller σ, then the smaller κ.
        _, _, s0, k0 = min(grid, key=lambda row: (row[1], row[2], row[3]))
        _, _, s1, _ = min((row for row in grid if row[3] == 0.0), key=lambda row: (row[1], row[2]))
    else:
        s0, k0 = start
        s1 = start[0]
    full = _refine(points, s0, k0, with_kappa=True)
    linear = _refine(points, s1, 0.0, with_kappa=False)
    n = len(points)
    return full if _bic(full[3], n, 3) < _bic(linear[3], n, 2) else linear


def _usable(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points with N ≥ 1 and X > 0; a zero (a failing run) says nothing about scaling."""
    # Sorted: the fit and its seeded bootstrap do not depend on the order of the points.
    return sorted((float(n), float(x)) for n, x in points if n >= 1 and x > 0 and math.isfinite(x))


def _bootstrap(
    groups: dict[float, list[float]], rounds: int, start: tuple[float, float]
) -> list[tuple[float, float, float]]:
    """(λ, σ, κ) refitted on resamples of the repeats within each worker count (seeded)."""
    rng = random.Random(_SEED)
    fits = []
    for _ in range(rounds):
        sample = [(n, rng.choice(xs)) for n, xs in groups.items() for _ in xs]
        lam, sigma, kappa, _ = _search(sample, start)
        fits.append((lam, sigma, kappa))
    return fits


def _stdev(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1))


def fit_usl(points: Sequence[tuple[float, float]], *, bootstrap_rounds: int = _BOOTSTRAP_ROUNDS) -> UslFit:
    """Fit λ, σ, κ to (workers, r/s) points, one per repeat; NotEnoughPoints below 3 worker counts."""
    usable = _usable(points)
    groups: dict[float, list[float]] = {}
    for n, x in usable:
        groups.setdefault(n, []).append(x)
    if len(groups) < 3:
        raise NotEnoughPoints(f"a scaling fit needs 3 worker counts with r/s > 0, got {len(groups)}")
    lam, sigma, kappa, sse = _search(usable)
    errors: tuple[float | None, float | None, float | None] = (None, None, None)
    if min(len(xs) for xs in groups.values()) >= 2 and bootstrap_rounds > 1:
        fits = _bootstrap(groups, bootstrap_rounds, (sigma, kappa))
        # Resampling m repeats shrinks their spread by (m-1)/m: undo it (few repeats, m = 3, are the rule).
        m = min(len(xs) for xs in groups.values())
        widen = math.sqrt(m / (m - 1))
        errors = (
            widen * _stdev([f[0] for f in fits]),
            widen * _stdev([f[1] for f in fits]),
            widen * _stdev([f[2] for f in fits]),
        )
    xs = [x for _, x in usable]
    mean = sum(xs) / len(xs)
    sst = sum((x - mean) ** 2 for x in xs)
    largest = int(max(groups))
    fit = UslFit(
        single_worker_rps=lam,
        serial_fraction=sigma,
        coherency=kappa,
        single_worker_rps_err=errors[0],
        serial_fraction_err=errors[1],
        coherency_err=errors[2],
        peak_workers=math.sqrt((1 - sigma) / kappa) if kappa > 0 else None,
        predicted_rps=0.0,
        predicted_at_workers=2 * largest,
        r_squared=1 - sse / sst if sst > 0 else 1.0,
        rmse_pct=100 * math.sqrt(sse / len(usable)) / mean,
        n_points=len(usable),
        worker_counts=tuple(sorted(int(n) for n in groups)),
    )
    return replace(fit, predicted_rps=fit.rps_at(fit.predicted_at_workers))


# The shape of the verdict: σ at or above "serialized" is one request at a time; from
# "partly" up it is partly serialized; below, the view scales with workers.
SIGMA_THRESHOLDS = {"serialized": 0.9, "partly": 0.2}


def sigma_label(sigma: float) -> str:
    """'serialized (σ = 0.97)', 'partly serialized (σ = 0.6)' or 'scales (σ = 0.05)'."""
    if sigma >= SIGMA_THRESHOLDS["serialized"]:
        return f"serialized (σ = {sigma:.2f})"
    if sigma >= SIGMA_THRESHOLDS["partly"]:
        return f"partly serialized (σ = {sigma:.1f})"
    return f"scales (σ = {sigma:.2f})"


# A point is at the CPU ceiling when its X × CPU per request fills this share of the
# cores. The same wall as diagnosis.THRESHOLDS["cpu_saturated_busy"]: on 2 cores shared
# by client, server and database the round trips leave idle gaps, 80 % is full.
CPU_CEILING_SHARE = 0.80


@dataclass(frozen=True)
class ScalingPoint:
    """One measured window of one worker count."""

    workers: int  # what serves at once: worker processes × threads
    rps: float
    cpu_s_per_request: float | None = None  # the machine's CPU per request (all roles, /proc/stat)
    concurrency: int | None = None  # the closed loop's connections


@dataclass(frozen=True)
class Scaling:
    """The scaling of one server and path over worker counts: the fit, or why there is none."""

    fit: UslFit | None
    cores: int
    cpu_ceiling_rps: float | None  # cores / CPU per request, median over the points
    cpu_bound_workers: tuple[int, ...] = ()  # at the CPU ceiling: left out of the fit
    load_limited_workers: tuple[int, ...] = ()  # connections ≤ workers: left out of the fit
    reason: str = ""  # why there is no fit ("" when there is one)
    notes: tuple[str, ...] = field(default=())

    @property
    def verdict(self) -> str | None:
        """'partly serialized (σ = 0.6)' and the like, 'cpu-bound, not serialized', or None."""
        fit = self.fit
        if fit is not None:
            label = sigma_label(fit.serial_fraction)
            if fit.peak_workers is not None and fit.peak_workers <= max(fit.worker_counts):
                label += f", peaks at {fit.peak_workers:.1f} workers (κ = {fit.coherency:.3f})"
            return label
        if self.cpu_bound_workers:
            return "cpu-bound, not serialized"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The fit's figures at the top (diagnosis.scaling.serial_fraction, ...), then the ceiling."""
        fit = self.fit.to_dict() if self.fit else dict.fromkeys(_FIT_KEYS)
        return {
            **fit,
            "cores": self.cores,
            "cpu_ceiling_rps": self.cpu_ceiling_rps,
            "cpu_bound_workers": list(self.cpu_bound_workers),
            "load_limited_workers": list(self.load_limited_workers),
            "reason": self.reason,
            "notes": list(self.notes),
            "verdict": self.verdict,
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
            reason=data["reason"],
            notes=tuple(data.get("notes", ())),
        )


_FIT_KEYS = tuple(UslFit.__dataclass_fields__)


def at_cpu_ceiling(point: ScalingPoint, *, cores: int, share: float = CPU_CEILING_SHARE) -> bool:
    """True when X × CPU per request fills `share` of the cores: the CPU, not a wait, caps X."""
    if point.cpu_s_per_request is None or cores <= 0:
        return False
    return point.rps * point.cpu_s_per_request >= share * cores


def scaling(points: Sequence[ScalingPoint], *, cores: int, share: float = CPU_CEILING_SHARE) -> Scaling:
    """Fit the USL to the points below the CPU ceiling and with more connections than workers.

    The rule: a worker count is at the CPU ceiling when the median of its points is
    (`at_cpu_ceiling`); it is load-limited when its connections do not exceed its workers.
    Both are left out. With fewer than 3 worker counts left there is no σ: the verdict
    is "cpu-bound, not serialized" when the CPU took the others, else none.
    """
    by_workers: dict[int, list[ScalingPoint]] = {}
    for point in points:
        by_workers.setdefault(point.workers, []).append(point)
    cpu_bound: list[int] = []
    load_limited: list[int] = []
    kept: list[tuple[float, float]] = []
    for workers, group in sorted(by_workers.items()):
        ceiling_votes = sum(at_cpu_ceiling(p, cores=cores, share=share) for p in group)
        if 2 * ceiling_votes > len(group):
            cpu_bound.append(workers)
        elif any(p.concurrency is not None and p.concurrency <= workers for p in group):
            load_limited.append(workers)
        else:
            kept.extend((p.workers, p.rps) for p in group)
    cpu = sorted(p.cpu_s_per_request for p in points if p.cpu_s_per_request)
    ceiling = cores / cpu[len(cpu) // 2] if cpu else None
    base = Scaling(None, cores, ceiling, tuple(cpu_bound), tuple(load_limited))
    try:
        return replace(base, fit=fit_usl(kept))
    except NotEnoughPoints as exc:
        left_out = []
        if cpu_bound:
            left_out.append(f"{_counts(cpu_bound)} at the CPU ceiling (~{ceiling or 0:,.0f} r/s on {cores} cores)")
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


def serial_advice(fit: UslFit, *, db_share: float | None) -> str:
    """What to do about a serial fraction, naming the database's share of the wait when it is known."""
    sigma = fit.serial_fraction
    peak = f"; X peaks near {fit.peak_workers:.0f} workers" if fit.peak_workers else ""
    head = (
        f"σ = {sigma:.2f}: {100 * sigma:.0f} % of a request's work runs one at a time{peak};"
        f" ~{fit.predicted_rps:,.0f} r/s expected with {fit.predicted_at_workers} workers"
    )
    if db_share is None:
        return f"{head}: find what the requests share (a lock, a connection pool, the database)"
    if db_share >= 0.5:
        return (
            f"{head}: {100 * db_share:.0f} % of the wait is database time: the database serializes"
            " (SQLite's single writer: PostgreSQL, or sessions in the cache)"
        )
    return f"{head}: only {100 * db_share:.0f} % of the wait is database time: look for a lock in the app"
