"""The Universal Scalability Law fitted to (workers, r/s) points: λ, σ, κ with bootstrap uncertainties.

X(N) = λN / (1 + σ(N−1) + κN(N−1)) (Gunther): λ is one worker's r/s, σ the serial
fraction (0: scales linearly, 1: one request at a time), κ the coherency penalty
(workers slow each other down: X peaks at N* = √((1−σ)/κ), then falls).

Least squares over every repeat, σ in [0, 1] and κ ≥ 0. For fixed (σ, κ) the
model is linear in λ, so λ has a closed form and only (σ, κ) is searched: a grid,
then a bounded pattern search from its best cell. Deterministic, no numpy.

Nothing here uses t0, the in-process view time: a verdict built on the fit does
not hang on one noisy measurement.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import replace

from ..model.across_runs import UslFit, usl_shape

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


def _solve(points: Sequence[tuple[float, float]], sigma: float, kappa: float) -> tuple[float, float]:
    """(λ, SSE) for fixed σ, κ: λ = Σ X g / Σ g² (the least-squares λ of a model linear in λ)."""
    xg = gg = xx = 0.0
    for n, x in points:
        g = usl_shape(n, sigma, kappa)
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
            widen * statistics.stdev(f[0] for f in fits),
            widen * statistics.stdev(f[1] for f in fits),
            widen * statistics.stdev(f[2] for f in fits),
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
