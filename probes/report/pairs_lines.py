"""An A/B's lines (--against*), shared by the terminal, Markdown and HTML: what A and B are, every figure's
change with its interval (judge/pairs.py, worded in judge/wording/pairs.py), and the pairs in time order."""

from __future__ import annotations

from dataclasses import dataclass

from ..bench.judge.pairs import judge_suite
from ..bench.judge.wording.pairs import judgement_lines
from ..bench.model.results import Suite
from .rows import Table

METHOD = "per-pair ratios B/A; Hodges-Lehmann estimate, exact Wilcoxon signed-rank 95 % interval"


@dataclass(frozen=True)
class PairRow:
    """One pair in time order: its order (AB or BA), both sides' r/s, and B/A."""

    number: int
    order: str
    a_rps: float
    b_rps: float

    @property
    def ratio(self) -> float | None:
        return self.b_rps / self.a_rps if self.a_rps else None


def pair_rows(suite: Suite) -> list[PairRow]:
    """The pairs as measured: A's i-th window beside B's i-th, in the order they ran."""
    against = suite.against
    if against is None:
        return []
    timeline = against.timeline(suite.runs)
    rows = []
    for number, start in enumerate(range(0, len(timeline) - 1, 2), 1):
        (first, one), (_, other) = timeline[start], timeline[start + 1]
        a, b = (one, other) if first == "A" else (other, one)
        rows.append(PairRow(number, first + ("B" if first == "A" else "A"), a.ok_per_s, b.ok_per_s))
    return rows


def pairs_lines(suite: Suite) -> list[str]:
    """The A/B's header and each figure's change (none for a result of one side)."""
    against, judgement = suite.against, judge_suite(suite)
    if against is None:
        return []
    lines = [f"A: {against.a_is}", f"B: {against.b_is}"]
    if judgement is None:
        return [*lines, "no pairs: a side did not run"]
    return [*lines, *judgement_lines(judgement), f"({METHOD})"]


def pair_table(rows: list[PairRow]) -> Table:
    """The pairs in time order, as text cells."""
    cells = [
        [str(row.number), row.order, f"{row.a_rps:,.0f}", f"{row.b_rps:,.0f}", f"{row.ratio:.3f}" if row.ratio else "-"]
        for row in rows
    ]
    return Table(["pair", "order", "A r/s", "B r/s", "B/A"], cells)


def terminal_pairs(suite: Suite) -> list[str]:
    """The terminal's A/B section: the lines, then the pairs, one a line."""
    lines = pairs_lines(suite)
    if not lines:
        return []
    table = pair_table(pair_rows(suite))
    every = [table.headers, *table.rows]
    widths = [max(len(text) for text in column) for column in zip(*every, strict=True)]
    text = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in every]
    return ["", "A/B in interleaved pairs:", *(f"  {line}" for line in lines), "", *(f"  {line}" for line in text)]
