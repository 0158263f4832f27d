"""Small statistics: medians, percentiles, spread."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


# Student's t, two-sided 95 %, by degrees of freedom (n - 1): the few repeats a run has.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
T95_LARGE = 1.96


def interval_pct(values: Sequence[float]) -> float | None:
    """Half the 95 % interval of the median, in % of it (None below 2 values).

    With 2 to 6 windows no order-statistic interval reaches 95 %, so the t interval of the mean
    stands in for the median's (the windows of one configuration spread near-symmetrically).
    """
    if len(values) < 2:
        return None
    centre = median(values)
    if centre <= 0:
        return None
    half = T95.get(len(values) - 1, T95_LARGE) * statistics.stdev(values) / math.sqrt(len(values))
    return 100 * half / centre


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated figures; cv is stdev / mean (pyperf's instability test)."""

    median: float
    low: float
    high: float
    cv: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0.0, 0.0, 0.0, 0.0)
        mean = statistics.fmean(values)
        cv = statistics.stdev(values) / mean if len(values) > 1 and mean else 0.0
        return cls(median(values), min(values), max(values), cv)
