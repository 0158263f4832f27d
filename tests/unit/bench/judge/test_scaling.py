"""The USL fit recovers known σ, κ, λ from noisy synthetic sweeps; the CPU ceiling keeps CPU-bound views apart."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from probes.bench.judge.figures import db_share_of_wait
from probes.bench.judge.knee import KNEE_SHARE, knee
from probes.bench.judge.rules import CPU_WALL
from probes.bench.judge.scaling import (
    SIGMA_THRESHOLDS,
    ScalingPoint,
    at_cpu_ceiling,
    scaling,
    sigma_shape,
)
from probes.bench.judge.usl import NotEnoughPoints, fit_usl
from probes.bench.judge.wording import serial_advice, sigma_label
from probes.bench.model.across_runs import Scaling, UslFit

WORKERS = (1, 2, 4, 8)


def usl(n: float, lam: float, sigma: float, kappa: float) -> float:
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def sweep(
    lam: float, sigma: float, kappa: float, *, noise: float, seed: int, workers: tuple[int, ...] = WORKERS, repeats=3
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(n, usl(n, lam, sigma, kappa) * (1 + rng.gauss(0, noise))) for n in workers for _ in range(repeats)]


CASES = [(100.0, 0.0, 0.0), (100.0, 0.6, 0.0), (300.0, 0.3, 0.02), (33.0, 0.05, 0.0), (500.0, 0.8, 0.05)]


@pytest.mark.parametrize(("lam", "sigma", "kappa"), CASES)
def test_exact_points_give_back_the_parameters(lam: float, sigma: float, kappa: float) -> None:
    fit = fit_usl(sweep(lam, sigma, kappa, noise=0.0, seed=0))
    assert fit.serial_fraction == pytest.approx(sigma, abs=1e-3)
    assert fit.coherency == pytest.approx(kappa, abs=1e-4)
    assert fit.single_worker_rps == pytest.approx(lam, rel=1e-3)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("lam", "sigma", "kappa"), CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noisy_sweeps_recover_the_parameters_within_their_uncertainty(
    lam: float, sigma: float, kappa: float, seed: int
) -> None:
    fit = fit_usl(sweep(lam, sigma, kappa, noise=0.02, seed=seed))
    assert fit.serial_fraction_err is not None and fit.single_worker_rps_err is not None
    assert abs(fit.serial_fraction - sigma) <= max(0.05, 4 * fit.serial_fraction_err)
    assert abs(fit.single_worker_rps - lam) <= max(0.05 * lam, 4 * fit.single_worker_rps_err)
    truth_at_16 = usl(16, lam, sigma, kappa)
    assert fit.predicted_at_workers == 16
    assert fit.predicted_rps == pytest.approx(truth_at_16, rel=0.2)
    if kappa > 0:
        true_peak = ((1 - sigma) / kappa) ** 0.5
        assert fit.peak_workers == pytest.approx(true_peak, rel=0.3)


def test_a_peak_within_the_measured_workers_is_named_in_the_summary() -> None:
    points = [ScalingPoint(int(n), x, None, 32) for n, x in sweep(300.0, 0.3, 0.02, noise=0.0, seed=0)]
    result = scaling(points, cores=CORES)
    assert result.fit is not None and result.fit.peak_workers is not None
    assert result.verdict == sigma_label("partly serialized", 0.3)
    assert result.summary == (
        f"over 1, 2, 4, 8 workers: σ = 0.30 ± 0.00, κ = 0.020 ± 0.000, one worker 300 ± 0 r/s;"
        f" X peaks at {result.fit.peak_workers:.1f} workers; ~466 r/s predicted with 16"
    )


def test_a_coherency_within_its_noise_names_no_peak() -> None:
    # Flat from 2 workers on, with noise: κ may come out > 0, but not beyond twice its uncertainty.
    rng = random.Random(2)
    rows = [(n, x * (1 + rng.gauss(0, 0.03))) for n, x in ((1, 86.0), (2, 93.0), (4, 93.0)) for _ in range(3)]
    fit = fit_usl(rows)
    assert not fit.clear_peak
    result = scaling([ScalingPoint(int(n), x, None, 8) for n, x in rows], cores=CORES)
    assert result.verdict == sigma_label(sigma_shape(fit.serial_fraction), fit.serial_fraction)


def test_no_coherency_means_no_peak() -> None:
    fit = fit_usl(sweep(200.0, 0.4, 0.0, noise=0.0, seed=0))
    assert fit.coherency == 0.0
    assert fit.peak_workers is None
    assert fit.rps_at(1000) < 200.0 / 0.4  # it flattens toward λ/σ, never beyond


def test_the_fit_is_deterministic() -> None:
    points = sweep(150.0, 0.5, 0.01, noise=0.05, seed=7)
    assert fit_usl(points) == fit_usl(list(reversed(points)))


def test_a_flat_throughput_is_fully_serialized() -> None:
    fit = fit_usl([(n, 100.0) for n in (1, 2, 4) for _ in range(3)])
    assert fit.serial_fraction == pytest.approx(1.0, abs=1e-3)
    assert fit.coherency == 0.0
    assert fit.serial_fraction_err == 0.0
    assert sigma_shape(fit.serial_fraction) == "serialized"


def test_one_repeat_per_worker_count_gives_no_uncertainty() -> None:
    fit = fit_usl(sweep(100.0, 0.3, 0.0, noise=0.02, seed=1, repeats=1))
    assert fit.n_points == len(WORKERS)
    assert (fit.serial_fraction_err, fit.coherency_err, fit.single_worker_rps_err) == (None, None, None)


@pytest.mark.parametrize(
    "points",
    [
        [(1, 100.0), (2, 180.0)],
        [(1, 100.0), (2, 180.0), (4, 0.0)],  # a failing run's zero is no point
        [(1, 100.0), (1, 101.0), (2, 190.0), (2, 185.0)],
        [],
    ],
)
def test_fewer_than_three_worker_counts_cannot_be_fitted(points: list[tuple[float, float]]) -> None:
    with pytest.raises(NotEnoughPoints, match="3 worker counts"):
        fit_usl(points)


def test_fit_round_trips_through_dicts() -> None:
    fit = fit_usl(sweep(300.0, 0.3, 0.02, noise=0.02, seed=4))
    assert UslFit.from_dict(fit.to_dict()) == fit


def test_sigma_labels_follow_the_thresholds() -> None:
    partly, serialized = SIGMA_THRESHOLDS["partly"], SIGMA_THRESHOLDS["serialized"]
    assert sigma_shape(partly - 0.01) == "scales"
    assert sigma_shape(partly) == "partly serialized"
    assert sigma_label(sigma_shape(partly), partly) == f"partly serialized (σ = {partly:.2f})"
    assert sigma_shape(serialized) == "serialized"


# The cpu probe on 2 cores: 10.5 ms of machine CPU per request; 1 worker uses half the
# machine, 2 and 4 workers fill it. Its flattening looks like contention to the fit alone.
CPU_VIEW_S = 0.0105
CORES = 2


def cpu_probe_points(cpu_known: bool) -> list[ScalingPoint]:
    ceiling = CORES / CPU_VIEW_S
    rng = random.Random(3)
    rows = []
    for n in (1, 2, 4):
        x = min(n / CPU_VIEW_S, ceiling * 0.97)
        for _ in range(3):
            rows.append(ScalingPoint(n, x * (1 + rng.gauss(0, 0.01)), CPU_VIEW_S if cpu_known else None, 8))
    return rows


def test_a_cpu_bound_view_is_not_serialized() -> None:
    # Without the CPU figures the flattening reads as contention: the ceiling rule is what prevents it.
    blind = scaling(cpu_probe_points(cpu_known=False), cores=CORES)
    assert blind.fit is not None
    assert blind.fit.serial_fraction >= SIGMA_THRESHOLDS["partly"] or blind.fit.peak_workers is not None
    assert blind.verdict != "cpu-bound, not serialized"
    result = scaling(cpu_probe_points(cpu_known=True), cores=CORES)
    assert result.fit is None
    assert result.cpu_bound_workers == (2, 4)
    assert result.verdict == "cpu-bound, not serialized"
    assert result.cpu_ceiling_rps == pytest.approx(CORES / CPU_VIEW_S)
    assert "CPU ceiling" in result.reason


def test_points_under_the_ceiling_are_fitted() -> None:
    # A half-serial view using a tenth of the machine: nothing is at the ceiling.
    rng = random.Random(5)
    points = [
        ScalingPoint(n, usl(n, 100.0, 0.5, 0.0) * (1 + rng.gauss(0, 0.01)), 0.1 * CORES / 100.0, 8)
        for n in (1, 2, 4)
        for _ in range(3)
    ]
    assert not any(p.rps * p.cpu_s_per_request >= CPU_WALL * CORES for p in points)
    result = scaling(points, cores=CORES)
    assert result.fit is not None
    assert result.verdict == sigma_label(sigma_shape(result.fit.serial_fraction), result.fit.serial_fraction)
    assert result.verdict.startswith("partly serialized")
    data = result.to_dict()
    assert {"serial_fraction", "coherency", "single_worker_rps", "peak_workers"} <= set(data)
    assert Scaling.from_dict(data) == result


def test_cores_other_processes_take_lower_the_ceiling_of_a_cpu_hungry_view_only() -> None:
    # Another process holds 1.2 of the 2 cores. The cpu view at 2 workers gets the 0.8 left and fills it;
    # a 30 ms sleep view (1 ms of CPU) at 1 worker uses 0.03 cores of the 0.77 left: not CPU-bound.
    others = 1.2
    cpu_view = ScalingPoint(2, 0.8 / CPU_VIEW_S, CPU_VIEW_S, 8, machine_busy_cores=others + 0.8)
    sleep_view = ScalingPoint(1, 32.0, 0.001, 8, machine_busy_cores=others + 0.032)
    assert cpu_view.others_cores == pytest.approx(others)
    assert at_cpu_ceiling(cpu_view, cores=CORES)
    assert not at_cpu_ceiling(sleep_view, cores=CORES)
    assert not at_cpu_ceiling(replace(cpu_view, machine_busy_cores=None), cores=CORES)
    sleep_sweep_points = [replace(sleep_view, workers=n, rps=32.0 * n) for n in (1, 2, 4) for _ in range(2)]
    result = scaling(sleep_sweep_points, cores=CORES)
    assert result.cpu_bound_workers == () and result.fit is not None
    assert result.verdict is not None and result.verdict.startswith("scales")
    assert result.others_cores == pytest.approx(others, abs=0.1)


def test_a_point_at_the_ceiling_is_dropped_from_a_worker_count_that_is_not() -> None:
    rows = [ScalingPoint(n, usl(n, 100.0, 0.5, 0.0), 0.001, 8, machine_busy_cores=0.3) for n in (1, 2, 4)]
    disturbed = replace(rows[0], rps=60.0, machine_busy_cores=CORES)  # others took the whole machine
    with_it = scaling([*rows, *rows, disturbed], cores=CORES)
    without = scaling([*rows, *rows], cores=CORES)
    assert with_it.cpu_bound_workers == ()
    assert with_it.fit == without.fit


def test_load_limited_worker_counts_are_left_out() -> None:
    points = [ScalingPoint(n, usl(n, 50.0, 0.0, 0.0), None, 4) for n in (1, 2, 4, 8) for _ in range(2)]
    result = scaling(points, cores=CORES)
    assert result.load_limited_workers == (4, 8)
    assert result.fit is None and result.verdict is None
    assert "load-limited" in result.reason


def test_db_share_of_the_wait() -> None:
    # 10 ms wall, 2 ms of it t0, 1 ms run queue: 7 ms of wait, 5.6 ms of it more database time than t0's.
    share = db_share_of_wait(app_wall_s=0.010, t0_s=0.002, db_s=0.0066, app_runq_s=0.001, db_t0_s=0.001)
    assert share == pytest.approx(5.6 / 7)
    assert db_share_of_wait(app_wall_s=0.002, t0_s=0.002, db_s=0.001) is None
    fit = fit_usl(sweep(300.0, 0.6, 0.0, noise=0.0, seed=0, workers=(1, 2, 4)))
    assert "database time" in serial_advice(fit, db_share=share)
    assert "lock in the app" in serial_advice(fit, db_share=0.1)


# sleep?ms=30 with 4 workers: X = min(N, 4) / 30 ms; R = N / X (Little), at least 30 ms.
def sleep_sweep(levels: tuple[int, ...], *, repeats: int = 2, noise: float = 0.01) -> list[tuple[int, float, float]]:
    rng = random.Random(9)
    rows = []
    for n in levels:
        x = min(n, 4) / 0.030
        for _ in range(repeats):
            jitter = 1 + rng.gauss(0, noise)
            rows.append((n, x * jitter, n / (x * jitter)))
    return rows


def test_the_knee_of_a_sleep_view_with_four_workers_is_at_four() -> None:
    result = knee(sleep_sweep((1, 2, 4, 8, 16)))
    assert result.knee_concurrency == 4
    assert result.littles_concurrency == pytest.approx(4, rel=0.05)
    assert result.queueing_from == 4
    assert [step.to_concurrency for step in result.queueing] == [8, 16]
    assert "queueing only" in result.summary
    assert [level.repeats for level in result.levels] == [2] * 5


def test_a_sweep_that_keeps_scaling_has_its_knee_at_the_top_and_no_queueing() -> None:
    rows = [(n, 100.0 * n, 0.01) for n in (1, 2, 4)]
    result = knee(rows)
    assert result.knee_concurrency == 4 and result.queueing == ()
    assert result.queueing_from is None
    assert KNEE_SHARE * result.peak_rps > 100.0 * 2


def test_a_sweep_with_no_throughput_has_no_knee() -> None:
    with pytest.raises(ValueError, match="r/s > 0"):
        knee([(1, 0.0, 0.0), (2, 0.0, 0.0)])


def test_a_fit_with_a_peak_says_where_it_peaks_never_scales_and_advises_from_the_fit() -> None:
    """Issue 20: "scales (σ = 0.00) … X peaks at 2.1 workers … more workers cannot help"."""
    points = [ScalingPoint(int(n), x, None, 32) for n, x in sweep(300.0, 0.02, 0.1, noise=0.0, seed=0)]
    result = scaling(points, cores=CORES)
    assert result.fit is not None and result.fit.clear_peak and result.fit.peak_workers is not None
    assert result.verdict == f"peaks at 3 workers (σ = 0.02, κ = {result.fit.coherency:.3f})"
    assert result.advice.startswith("σ = 0.02: 2 % of a request's work runs one at a time; X peaks near 3 workers;")
    assert result.advice.endswith(f"past ~3 workers the requests slow one another (κ = {result.fit.coherency:.3f})")
    assert Scaling.from_dict(result.to_dict()) == result
    # Without κ the same small σ scales, and more workers help.
    flat = scaling(
        [ScalingPoint(int(n), x, None, 32) for n, x in sweep(300.0, 0.02, 0.0, noise=0.0, seed=0)], cores=CORES
    )
    assert flat.verdict == "scales (σ = 0.02)"
    assert flat.advice.endswith("more workers help, up to the cores")
