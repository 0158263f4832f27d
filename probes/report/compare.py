"""Did B make it faster than A? Matched configurations, ratios of r/s and a t-test (pyperf's compare_to)."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ..bench.model.results import FORMAT, Metadata, Run, Suite
from ..bench.model.stats import Spread, median

# Two-sided 95 % critical values of Student's t by degrees of freedom (index = df, 1..30),
# the standard table pyperf also uses; beyond 30 the values approach 1.960.
T95 = (
    math.nan, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
# (lowest df, value) for the rows of the table past 30: each value holds up to the next row.
T95_LARGE_DF = ((200, 1.960), (100, 1.984), (80, 1.990), (60, 2.000), (50, 2.009), (40, 2.021))


class CompareError(ValueError):
    """A file --compare cannot read; the message is one line."""


class Verdict(StrEnum):
    FASTER = "faster"
    SLOWER = "slower"
    NOT_SIGNIFICANT = "not significant"  # the t-test cannot tell the repeats of A and B apart
    WITHIN_NOISE = "within noise"  # significant, but smaller than min_change_pct
    UNTESTED = "untested"  # one repeat on each side: no variance, no test
    NOT_MEASURED = "not measured"  # no samples, or no successful request, on one side


@dataclass(frozen=True)
class Key:
    """What makes two runs the same configuration; the project and versions may differ."""

    kind: str
    workers: int
    threads: int
    front: str
    socket: str
    app: str  # "null" (the server's floor) never pairs with the project's app
    path: str
    concurrency: int
    label: str = field(default="", compare=False)

    @classmethod
    def of(cls, run: Run) -> Key:
        return cls(
            run.kind, run.workers, run.threads, run.front, run.socket, run.app, run.path, run.concurrency, run.label
        )

    def __str__(self) -> str:
        return f"{self.label} {self.path} c={self.concurrency}"


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
class Pair:
    """One configuration found in both results."""

    key: Key
    rps: Change
    ratio: float | None  # median r/s of B over A: 2.0 means B serves twice as many requests per second
    ratio_error: float | None  # ± one stdev, each side's stdev/mean added in quadrature (hyperfine)
    ttest: TTest | None  # on the repeats' r/s; None with one repeat on each side
    verdict: Verdict
    p99_ms: Change | None
    cpu_us_per_request: Change | None  # all roles (client, server, nginx...) per request
    notes: tuple[str, ...] = ()  # the quality of either side when it is not "ok"

    @property
    def change_pct(self) -> float | None:
        """Change of median r/s from A to B in %: -10 means B serves 10 % fewer requests per second."""
        return self.rps.pct


@dataclass(frozen=True)
class Comparison:
    """B against A, configuration by configuration."""

    a: Metadata
    b: Metadata
    min_change_pct: float
    pairs: tuple[Pair, ...]
    only_in_a: tuple[Key, ...]
    only_in_b: tuple[Key, ...]
    geometric_mean: float | None  # of the ratios of every pair that has one, when there are two or more


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


def format_ratio(ratio: float) -> str:
    """pyperf's words for B against A: '2.00x faster', '1.12x slower' (A's r/s over B's)."""
    if ratio == 1:
        return "no change"
    return f"{ratio:.2f}x faster" if ratio > 1 else f"{1 / ratio:.2f}x slower"


def _median_of(run: Run, figure: str) -> float | None:
    values = []
    for sample in run.samples:
        if figure == "p99" and "p99" in sample.latency_ms:
            values.append(sample.latency_ms["p99"])
        elif figure == "cpu" and sample.requests and sample.cpu_s:
            values.append(1e6 * sum(sample.cpu_s.values()) / sample.requests)
    return median(values) if values else None


def _change(run_a: Run, run_b: Run, figure: str) -> Change | None:
    a, b = _median_of(run_a, figure), _median_of(run_b, figure)
    return Change(a, b) if a is not None and b is not None else None


def compare_runs(run_a: Run, run_b: Run, *, min_change_pct: float = 5.0) -> Pair:
    """One configuration, A against B."""
    rps_a = [sample.ok_per_s for sample in run_a.samples]
    rps_b = [sample.ok_per_s for sample in run_b.samples]
    spread_a, spread_b = Spread.of(rps_a), Spread.of(rps_b)
    notes = tuple(
        f"{side} {run.quality}" for side, run in (("A", run_a), ("B", run_b)) if run.samples and run.quality != "ok"
    )
    rps = Change(spread_a.median, spread_b.median)
    ratio = rps.b / rps.a if rps.a > 0 and rps.b > 0 else None
    ttest = student_t(rps_a, rps_b)
    ratio_error = None
    if ratio is not None and len(rps_a) > 1 and len(rps_b) > 1:
        ratio_error = ratio * math.hypot(spread_a.cv, spread_b.cv)
    change_pct = rps.pct
    if ratio is None or change_pct is None:
        verdict = Verdict.NOT_MEASURED
    elif ttest is None:
        verdict = Verdict.UNTESTED
    elif not ttest.significant:
        verdict = Verdict.NOT_SIGNIFICANT
    elif abs(change_pct) < min_change_pct:
        verdict = Verdict.WITHIN_NOISE
    else:
        verdict = Verdict.FASTER if ratio > 1 else Verdict.SLOWER
    return Pair(
        key=Key.of(run_a),
        rps=rps,
        ratio=ratio,
        ratio_error=ratio_error,
        ttest=ttest,
        verdict=verdict,
        p99_ms=_change(run_a, run_b, "p99"),
        cpu_us_per_request=_change(run_a, run_b, "cpu"),
        notes=notes,
    )


def compare(a: Suite, b: Suite, *, min_change_pct: float = 5.0) -> Comparison:
    """Match the runs of A and B by configuration and compare each pair; list the rest."""
    unmatched_b: dict[Key, list[int]] = {}
    for index, run in enumerate(b.runs):
        unmatched_b.setdefault(Key.of(run), []).append(index)
    pairs, only_in_a = [], []
    for run in a.runs:  # in A's order; a configuration measured twice pairs in order of appearance
        twins = unmatched_b.get(Key.of(run))
        if twins:
            pairs.append(compare_runs(run, b.runs[twins.pop(0)], min_change_pct=min_change_pct))
        else:
            only_in_a.append(Key.of(run))
    only_in_b = [Key.of(b.runs[index]) for index in sorted(i for left in unmatched_b.values() for i in left)]
    ratios = [pair.ratio for pair in pairs if pair.ratio is not None]
    return Comparison(
        a=a.metadata,
        b=b.metadata,
        min_change_pct=min_change_pct,
        pairs=tuple(pairs),
        only_in_a=tuple(only_in_a),
        only_in_b=tuple(only_in_b),
        geometric_mean=statistics.geometric_mean(ratios) if len(ratios) > 1 else None,
    )


def slower_beyond(comparison: Comparison, pct: float) -> list[Pair]:
    """Pairs significantly slower in B, by more than pct % of A's median r/s (--fail-if-slower)."""
    return [
        pair
        for pair in comparison.pairs
        if pair.verdict is Verdict.SLOWER and pair.change_pct is not None and -pair.change_pct > pct
    ]


def _pct(change: Change) -> str:
    return "" if change.pct is None else f" ({change.pct:+.0f} %)"


def _details(pair: Pair) -> list[str]:
    rps = [f"{pair.rps.pct:+.0f} %"] if pair.rps.pct is not None else []
    if pair.ratio is not None:
        rps.append(f"ratio {pair.ratio:.2f}" + (f" ± {pair.ratio_error:.2f}" if pair.ratio_error is not None else ""))
    if pair.ttest is not None:
        rps.append(f"t = {pair.ttest.t:.2f}, df {pair.ttest.df}")
    lines = [f"r/s {pair.rps.a:,.0f} -> {pair.rps.b:,.0f}" + (f" ({'; '.join(rps)})" if rps else "")]
    others = []
    if pair.p99_ms is not None:
        others.append(f"p99 {pair.p99_ms.a:,.2f} -> {pair.p99_ms.b:,.2f} ms{_pct(pair.p99_ms)}")
    if pair.cpu_us_per_request is not None:
        cpu = pair.cpu_us_per_request
        others.append(f"CPU {cpu.a:,.0f} -> {cpu.b:,.0f} µs/request{_pct(cpu)}")
    lines += [", ".join(others + list(pair.notes))] if others or pair.notes else []
    return ["    " + line for line in lines]


def _verdict(pair: Pair, min_change_pct: float) -> str:
    if pair.verdict in (Verdict.FASTER, Verdict.SLOWER) and pair.ratio is not None:
        return format_ratio(pair.ratio)
    if pair.verdict is Verdict.WITHIN_NOISE:
        return f"within noise (under {min_change_pct:g} %)"
    if pair.verdict is Verdict.UNTESTED and pair.ratio is not None:
        return f"{format_ratio(pair.ratio)} (untested: one repeat on each side)"
    if pair.verdict is Verdict.NOT_MEASURED:
        return "not measured (no successful request on one side)"
    return str(pair.verdict)


def _describe(metadata: Metadata) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in sorted(metadata.versions.items()))
    return f"{metadata.created_utc} on {metadata.hostname}, Python {metadata.python}" + (
        f", {versions}" if versions else ""
    )


def render_comparison(comparison: Comparison) -> str:
    """The comparison as text lines: one verdict per configuration, its figures indented below."""
    lines = [
        f"A: {_describe(comparison.a)}",
        f"B: {_describe(comparison.b)}",
        "B against A: median r/s B/A; Student's two-sample t-test over the repeats, 95 %;"
        f" a change under {comparison.min_change_pct:g} % is within noise",
    ]
    for pair in comparison.pairs:
        lines += [f"{pair.key}: {_verdict(pair, comparison.min_change_pct)}", *_details(pair)]
    lines += [f"only in A: {key}" for key in comparison.only_in_a]
    lines += [f"only in B: {key}" for key in comparison.only_in_b]
    if not comparison.pairs:
        lines.append("no configuration is in both results")
    if comparison.geometric_mean is not None:
        counted = sum(pair.ratio is not None for pair in comparison.pairs)
        lines.append(f"geometric mean: {format_ratio(comparison.geometric_mean)} ({counted} configurations)")
    return "\n".join(lines)


def load_for_compare(path: Path) -> Suite:
    """A saved result, or CompareError with one line saying why it cannot be compared."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompareError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareError(f"{path}: cannot be read ({type(exc).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}: not JSON ({exc})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if not isinstance(found, str) or not found.startswith("servebench/"):
        raise CompareError(f'{path}: not a servebench result (no "format": "{FORMAT}")')
    if found != FORMAT:
        raise CompareError(f"{path}: format {found}, this servebench reads {FORMAT}")
    try:
        return Suite.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # FormatError is a ValueError
        raise CompareError(f"{path}: a damaged {FORMAT} result ({type(exc).__name__}: {exc})") from None
