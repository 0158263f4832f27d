"""What a sweep shows across its configurations, as results: the USL fit over worker counts
(`UslFit`, `Scaling`) and the knee over connections (`Knee`). bench/judge/ builds them and
words them; the words are kept beside the figures, as a Diagnosis keeps its why."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


def usl_shape(workers: float, sigma: float, kappa: float) -> float:
    """X(N) / λ under the Universal Scalability Law: N / (1 + σ(N−1) + κN(N−1))."""
    return workers / (1 + sigma * (workers - 1) + kappa * workers * (workers - 1))


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
    r_squared: float  # 1 − SSE/SST; near 0 for a flat X (nothing to explain): read rmse_pct then
    rmse_pct: float  # root mean square residual, % of the mean r/s
    n_points: int
    worker_counts: tuple[int, ...]

    @property
    def clear_peak(self) -> bool:
        """A peak the data shows: κ > 0 and more than twice its uncertainty (when there is one)."""
        if self.peak_workers is None or self.peak_workers < 1:  # σ ≈ 1: X falls from the first worker on
            return False
        return self.coherency_err is None or self.coherency > 2 * self.coherency_err

    def rps_at(self, workers: float) -> float:
        """The fitted X at `workers`."""
        return self.single_worker_rps * usl_shape(workers, self.serial_fraction, self.coherency)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "worker_counts": list(self.worker_counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UslFit:
        return cls(**{**data, "worker_counts": tuple(data["worker_counts"])})


_FIT_KEYS = tuple(UslFit.__dataclass_fields__)


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
    # Its words (judge/wording.py), kept as saved: 'partly serialized (σ = 0.62)', 'cpu-bound, not
    # serialized' or None; then one line of σ, κ and λ with their ±, or why there is no fit.
    verdict: str | None = None
    summary: str = ""
    # What the fit says to do, from the fit alone ("" in results saved before it: the reports then print
    # the largest run's advice, as they did).
    advice: str = ""

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
            "summary": self.summary,
            "advice": self.advice,
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
            verdict=data["verdict"],
            summary=data["summary"],
            advice=data.get("advice", ""),
        )


@dataclass(frozen=True)
class Level:
    """One concurrency level: medians of its repeats."""

    concurrency: int
    throughput_rps: float
    response_s: float
    repeats: int


@dataclass(frozen=True)
class QueueingStep:
    """From one level to the next, latency grew with no gain in throughput."""

    from_concurrency: int
    to_concurrency: int
    rps_gain_pct: float
    latency_growth_pct: float


@dataclass(frozen=True)
class Knee:
    """The knee of one concurrency sweep, with Little's law beside it."""

    knee_concurrency: int
    peak_rps: float
    peak_concurrency: int
    littles_concurrency: float  # N* = X_max × R_min
    levels: tuple[Level, ...]
    queueing: tuple[QueueingStep, ...]  # the steps beyond which only the queue grew
    summary: str = ""  # its words (judge/wording.py), kept as saved

    @property
    def queueing_from(self) -> int | None:
        """The lowest concurrency from which every further step was queueing only (None: never)."""
        if not self.queueing:
            return None
        steps = {step.from_concurrency for step in self.queueing}
        start = None
        for level in reversed(self.levels[:-1]):
            if level.concurrency not in steps:
                break
            start = level.concurrency
        return start

    def to_dict(self) -> dict[str, Any]:
        return {
            "knee_concurrency": self.knee_concurrency,
            "peak_rps": self.peak_rps,
            "peak_concurrency": self.peak_concurrency,
            "littles_concurrency": self.littles_concurrency,
            "levels": [asdict(level) for level in self.levels],
            "queueing": [asdict(step) for step in self.queueing],
            "queueing_from": self.queueing_from,
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Knee:
        return cls(
            knee_concurrency=data["knee_concurrency"],
            peak_rps=data["peak_rps"],
            peak_concurrency=data["peak_concurrency"],
            littles_concurrency=data["littles_concurrency"],
            levels=tuple(Level(**item) for item in data["levels"]),
            queueing=tuple(QueueingStep(**item) for item in data["queueing"]),
            summary=data["summary"],
        )
