"""Is B faster than A? The one rule both the terminal comparisons and --compare use.

Student's two-sample t-test (pooled variance, two-sided at 95 %) on the repeats' r/s, as
pyperf's compare_to, and a change under `min_change_pct` of the baseline's median is within
noise: the few per cent that repeats on a shared 2-core machine move by anyway. The ratio of
the medians carries its ± (each side's stdev/mean added in quadrature, as hyperfine does).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..model.stats import Spread

MIN_CHANGE_PCT = 5.0
# Two-sided 95 % critical values of Student's t by degrees of freedom (index = df, 1..30),
# the standard table pyperf also uses; beyond 30 the values approach 1.960.
T95 = (
    math.nan, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
# (lowest df, value) for the rows of the table past 30: each value holds up to the next row.
T95_LARGE_DF = ((200, 1.960), (100, 1.984), (80, 1.990), (60, 2.000), (50, 2.009), (40, 2.021))


class Significance(StrEnum):
    """What the rule says of B against A."""

    FASTER = "faster"
    SLOWER = "slower"
    NOT_SIGNIFICANT = "not significant"  # the t-test cannot tell the repeats of A and B apart
    WITHIN_NOISE = "within noise"  # significant, but smaller than min_change_pct
    UNTESTED = "untested"  # one repeat on each side: no variance, no test
    NOT_MEASURED = "not measured"  # no samples, or no successful request, on one side


@dataclass(frozen=True)
class TTest:
    """Student's two-sample t-test (pooled variance), two-sided at 95 %."""

    t: float
    df: int
    critical: float

    @property
    def significant(self) -> bool:
        return abs(self.t) >= self.critical


@dataclass(frozen=True)
class Change:
    """One figure in A and in B (medians over the repeats)."""

    a: float
    b: float

    @property
    def pct(self) -> float | None:
        """(B - A) / A in %; None when A is 0."""
        return 100 * (self.b - self.a) / self.a if self.a else None


@dataclass(frozen=True)
class Speed:
    """B's r/s against A's: the medians, their ratio with its ±, the test, and what the rule says."""

    rps: Change
    ratio: float | None  # median r/s of B over A: 2.0 means B serves twice as many requests per second
    ratio_error: float | None  # ± one stdev; None without repeats on both sides
    ttest: TTest | None  # on the repeats' r/s; None with one repeat on each side
    verdict: Significance
    min_change_pct: float

    @property
    def differs(self) -> bool:
        """B differs from A: significantly beyond the floor, or, untested (one repeat each), beyond the floor."""
        if self.verdict in (Significance.FASTER, Significance.SLOWER):
            return True
        change = self.rps.pct
        return self.verdict is Significance.UNTESTED and change is not None and abs(change) >= self.min_change_pct


def critical_t95(df: int) -> float:
    """The two-sided 95 % critical value of Student's t for df degrees of freedom (from the table)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, not {df}")
    if df < len(T95):
        return T95[df]
    return next((value for lowest, value in T95_LARGE_DF if df >= lowest), T95[-1])


def student_t(a: Sequence[float], b: Sequence[float]) -> TTest | None:
    """t of mean(b) - mean(a) with the pooled variance; None when there is no degree of freedom."""
    df = len(a) + len(b) - 2
    if df < 1 or not a or not b:
        return None
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    squares = math.fsum((x - mean_a) ** 2 for x in a) + math.fsum((x - mean_b) ** 2 for x in b)
    error = math.sqrt(squares / df * (1 / len(a) + 1 / len(b)))
    if error == 0:  # identical repeats on both sides: any difference at all is certain
        t = 0.0 if mean_a == mean_b else math.copysign(math.inf, mean_b - mean_a)
    else:
        t = (mean_b - mean_a) / error
    return TTest(t=t, df=df, critical=critical_t95(df))


def relative_speed(a: Sequence[float], b: Sequence[float], *, min_change_pct: float = MIN_CHANGE_PCT) -> Speed:
    """B's repeats' r/s against A's: the one rule for "is B faster than A"."""
    spread_a, spread_b = Spread.of(a), Spread.of(b)
    rps = Change(spread_a.median, spread_b.median)
    ratio = rps.b / rps.a if rps.a > 0 and rps.b > 0 else None
    ttest = student_t(a, b)
    ratio_error = None
    if ratio is not None and len(a) > 1 and len(b) > 1:
        ratio_error = ratio * math.hypot(spread_a.cv, spread_b.cv)
    change_pct = rps.pct
    if ratio is None or change_pct is None:
        verdict = Significance.NOT_MEASURED
    elif ttest is None:
        verdict = Significance.UNTESTED
    elif not ttest.significant:
        verdict = Significance.NOT_SIGNIFICANT
    elif abs(change_pct) < min_change_pct:
        verdict = Significance.WITHIN_NOISE
    else:
        verdict = Significance.FASTER if ratio > 1 else Significance.SLOWER
    return Speed(rps, ratio, ratio_error, ttest, verdict, min_change_pct)


def faster_first(
    a: Sequence[float], b: Sequence[float], *, min_change_pct: float = MIN_CHANGE_PCT
) -> tuple[bool, Speed]:
    """(whether A is the faster, the faster's speed against the slower as its baseline); A first on a tie."""
    a_over_b = relative_speed(b, a, min_change_pct=min_change_pct)
    if a_over_b.ratio is not None and a_over_b.ratio < 1:
        return False, relative_speed(a, b, min_change_pct=min_change_pct)
    return True, a_over_b
