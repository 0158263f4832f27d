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
from dataclasses import replace

from ..model.across_runs import Knee, Level, QueueingStep
from ..model.stats import median
from . import wording

KNEE_SHARE = 0.90  # the knee: the first level with X >= this share of the peak
# A step between levels is queueing only when X gains less than this share while R
# grows by more than QUEUEING_R_GROWTH (relative to the lower level).
QUEUEING_X_GAIN = 0.05
QUEUEING_R_GROWTH = 0.10


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
    found = Knee(
        knee_concurrency=first.concurrency,
        peak_rps=peak.throughput_rps,
        peak_concurrency=peak.concurrency,
        littles_concurrency=peak.throughput_rps * r_min,
        levels=levels,
        queueing=tuple(queueing),
    )
    return replace(found, summary=wording.knee_summary(found))
