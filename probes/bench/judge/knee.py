"""Where throughput stops growing with concurrency: the knee of a concurrency sweep.

For one server and worker count, each concurrency level is a configuration of its
own (X r/s and R, the mean response time, per repeat). The knee is the smallest
concurrency that reaches KNEE_SHARE of the peak X. Little's law gives where it
should be: N* = X_max × R_min, the requests in flight when the peak throughput
meets the uncontended response time. Beyond the knee, latency that grows while X
does not is queueing only: the extra connections wait, nothing more gets done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..model.stats import median

KNEE_SHARE = 0.90  # the knee: the first level with X >= this share of the peak
# A step between levels is queueing only when X gains less than this share while R
# grows by more than QUEUEING_R_GROWTH (relative to the lower level).
QUEUEING_X_GAIN = 0.05
QUEUEING_R_GROWTH = 0.10


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

    def summary(self) -> str:
        """One line: the knee, Little's N*, and where latency grows for nothing."""
        text = (
            f"knee at {self.knee_concurrency} connections ({self.peak_rps:,.0f} r/s peak at {self.peak_concurrency});"
            f" Little's law N* = X_max × R_min = {self.littles_concurrency:.1f}"
        )
        start = self.queueing_from
        if start is not None:
            last = self.levels[-1]
            first = next(level for level in self.levels if level.concurrency == start)
            growth = 100 * (last.response_s / first.response_s - 1) if first.response_s else 0.0
            gain = 100 * (last.throughput_rps / first.throughput_rps - 1) if first.throughput_rps else 0.0
            text += (
                f"; from {start} to {last.concurrency} connections latency grows {growth:+.0f} %"
                f" for {gain:+.0f} % r/s: queueing only"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "queueing_from": self.queueing_from, "summary": self.summary()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Knee:
        return cls(
            knee_concurrency=data["knee_concurrency"],
            peak_rps=data["peak_rps"],
            peak_concurrency=data["peak_concurrency"],
            littles_concurrency=data["littles_concurrency"],
            levels=tuple(Level(**item) for item in data["levels"]),
            queueing=tuple(QueueingStep(**item) for item in data["queueing"]),
        )


def levels_of(points: Sequence[tuple[int, float, float]]) -> tuple[Level, ...]:
    """(concurrency, X r/s, R seconds) rows, one per repeat -> one Level per concurrency, ascending."""
    groups: dict[int, list[tuple[float, float]]] = {}
    for concurrency, rps, response_s in points:
        groups.setdefault(int(concurrency), []).append((float(rps), float(response_s)))
    return tuple(
        Level(n, median([x for x, _ in rows]), median([r for _, r in rows]), len(rows))
        for n, rows in sorted(groups.items())
    )


def knee(points: Sequence[tuple[int, float, float]]) -> Knee:
    """The knee of a concurrency sweep; ValueError when no level has a throughput above 0."""
    levels = tuple(level for level in levels_of(points) if level.concurrency >= 1)
    served = [level for level in levels if level.throughput_rps > 0]
    if not served:
        raise ValueError("a knee needs at least one concurrency level with r/s > 0")
    peak = max(served, key=lambda level: (level.throughput_rps, -level.concurrency))
    first = next(level for level in served if level.throughput_rps >= KNEE_SHARE * peak.throughput_rps)
    r_min = min((level.response_s for level in served if level.response_s > 0), default=0.0)
    queueing = []
    for low, high in zip(levels, levels[1:], strict=False):
        if low.throughput_rps <= 0 or low.response_s <= 0:
            continue
        gain = high.throughput_rps / low.throughput_rps - 1
        growth = high.response_s / low.response_s - 1
        if gain < QUEUEING_X_GAIN and growth > QUEUEING_R_GROWTH:
            queueing.append(QueueingStep(low.concurrency, high.concurrency, 100 * gain, 100 * growth))
    return Knee(
        knee_concurrency=first.concurrency,
        peak_rps=peak.throughput_rps,
        peak_concurrency=peak.concurrency,
        littles_concurrency=peak.throughput_rps * r_min,
        levels=levels,
        queueing=tuple(queueing),
    )
