"""Did B make it faster than A? Matched configurations and their figures; bench/judge/compare.py decides."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ..bench.judge.compare import MIN_CHANGE_PCT, Change, Significance, TTest, relative_speed
from ..bench.model.results import FORMAT, Metadata, Run, Suite
from ..bench.model.saved import FormatError, read_json
from ..bench.model.stats import median
from .settings_lines import SettingDifference, setting_differences


class CompareError(ValueError):
    """A file --compare cannot read; the message is one line."""


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
class Pair:
    """One configuration found in both results."""

    key: Key
    rps: Change
    ratio: float | None  # median r/s of B over A: 2.0 means B serves twice as many requests per second
    ratio_error: float | None  # ± one stdev, each side's stdev/mean added in quadrature (hyperfine)
    ttest: TTest | None  # on the repeats' r/s; None with one repeat on each side
    verdict: Significance
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
    settings: tuple[SettingDifference, ...] = ()  # what differs besides the code: said before any ratio


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
        elif figure == "cpu" and sample.cpu_s and (total := sample.total_cpu_s_per_request) is not None:
            values.append(1e6 * total)
    return median(values) if values else None


def _change(run_a: Run, run_b: Run, figure: str) -> Change | None:
    a, b = _median_of(run_a, figure), _median_of(run_b, figure)
    return Change(a, b) if a is not None and b is not None else None


def compare_runs(run_a: Run, run_b: Run, *, min_change_pct: float = MIN_CHANGE_PCT) -> Pair:
    """One configuration, A against B."""
    notes = tuple(
        f"{side} {run.quality}" for side, run in (("A", run_a), ("B", run_b)) if run.samples and run.quality != "ok"
    )
    speed = relative_speed(
        [sample.ok_per_s for sample in run_a.samples],
        [sample.ok_per_s for sample in run_b.samples],
        min_change_pct=min_change_pct,
    )
    return Pair(
        key=Key.of(run_a),
        rps=speed.rps,
        ratio=speed.ratio,
        ratio_error=speed.ratio_error,
        ttest=speed.ttest,
        verdict=speed.verdict,
        p99_ms=_change(run_a, run_b, "p99"),
        cpu_us_per_request=_change(run_a, run_b, "cpu"),
        notes=notes,
    )


def compare(a: Suite, b: Suite, *, min_change_pct: float = MIN_CHANGE_PCT) -> Comparison:
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
        settings=setting_differences(a, b),
    )


def nothing_in_common(comparison: Comparison) -> str:
    """The one line --compare exits 1 with when no configuration is in both results."""
    a, b = comparison.only_in_a, comparison.only_in_b
    line = f"no configuration is in both results (A has {len(a)}, B {len(b)})"
    if a or b:
        line += f"; first only in {'A' if a else 'B'}: {a[0] if a else b[0]}"
    return line


def slower_beyond(comparison: Comparison, pct: float) -> list[Pair]:
    """Pairs significantly slower in B, by more than pct % of A's median r/s (--fail-if-slower)."""
    return [
        pair
        for pair in comparison.pairs
        if pair.verdict is Significance.SLOWER and pair.change_pct is not None and -pair.change_pct > pct
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
    if pair.verdict in (Significance.FASTER, Significance.SLOWER) and pair.ratio is not None:
        return format_ratio(pair.ratio)
    if pair.verdict is Significance.WITHIN_NOISE:
        return f"within noise (under {min_change_pct:g} %)"
    if pair.verdict is Significance.UNTESTED and pair.ratio is not None:
        return f"{format_ratio(pair.ratio)} (untested: one repeat on each side)"
    if pair.verdict is Significance.NOT_MEASURED:
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
        *(str(difference) for difference in comparison.settings),  # DEBUG True in A only: no fix, a setting
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
    """A saved result, or CompareError with one line saying why it cannot be compared.

    Read as every saved result is (saved.py: a regular file, bounded, every figure finite and in
    range): a damaged B must not pass the --fail-if-slower gate.
    """
    try:
        data = read_json(path)
    except FileNotFoundError:
        raise CompareError(f"{path}: no such file") from None
    except FormatError as exc:  # it names the file
        raise CompareError(str(exc)) from None
    except OSError as exc:
        raise CompareError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if not isinstance(found, str) or not found.startswith("servebench/"):
        raise CompareError(f'{path}: not a servebench result (no "format": "{FORMAT}")')
    if found != FORMAT:
        raise CompareError(f"{path}: format {found}, this servebench reads {FORMAT}")
    try:
        return Suite.from_dict(data)
    except FormatError as exc:  # a figure out of range, named by its field
        raise CompareError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CompareError(f"{path}: a damaged {FORMAT} result ({type(exc).__name__}: {exc})") from None
