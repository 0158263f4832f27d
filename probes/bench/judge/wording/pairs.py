"""The sentences of an interleaved A/B (--against): one per figure, from judge/pairs.py's findings."""

from __future__ import annotations

from ..pairs import Direction, PairedChange, PairsJudgement

# What "B costs more" is called, per figure: r/s is slower, a latency higher, a CPU figure more.
_WORDS = {"r/s": ("slower", "faster")}
_DEFAULT_WORDS = ("higher", "lower")


def _pct(value: float) -> str:
    return f"{value:.1f}"


def change_text(change: PairedChange) -> str:
    """'B is 3.1 % slower (95 %: 1.9–4.2 %)', 'no difference found (95 %: −1.2 to +1.5 %)' or why none."""
    worse, better = _WORDS.get(change.figure, _DEFAULT_WORDS)
    direction = change.direction
    if direction is Direction.UNKNOWN or change.low_pct is None or change.high_pct is None:
        return f"not judged: {change.pairs} pair(s) measured it, a 95 % interval needs 6"
    low, high = change.low_pct, change.high_pct
    if direction is Direction.WORSE:
        return f"B is {_pct(change.change_pct or 0.0)} % {worse} (95 %: {_pct(low)}–{_pct(high)} %)"
    if direction is Direction.BETTER:
        return f"B is {_pct(-(change.change_pct or 0.0))} % {better} (95 %: {_pct(-high)}–{_pct(-low)} %)"
    return f"no difference found (95 %: {low:+.1f} to {high:+.1f} %)".replace("-", "−")


def change_line(change: PairedChange) -> str:
    """The figure, its sentence and the median per-pair ratio B/A it came from."""
    ratio = f"; B/A per pair: median {change.ratio_median:.3f} over {change.pairs} pairs" if change.ratio_median else ""
    return f"{change.figure}: {change_text(change)}{ratio}"


def judgement_lines(judgement: PairsJudgement) -> list[str]:
    """One line per figure, r/s first."""
    return [change_line(change) for change in judgement.changes]


def gate_line(judgement: PairsJudgement, limit_pct: float) -> str:
    """The one line --fail-if-slower exits 1 with."""
    return f"--fail-if-slower {limit_pct:g}: {change_text(judgement.throughput)}, beyond {limit_pct:g} %"
