"""The Markdown report: a header line, then per URL a GitHub table, why lines, memory model and comparisons."""

from __future__ import annotations

from ..bench.model.results import Suite
from .comparisons import comparisons
from .lines import command_line, machine_line, memory_model_lines, sections
from .pairs_lines import pair_rows, pair_table, pairs_lines
from .rows import Table, run_table
from .settings_lines import settings_lines

# Right-aligned columns: the figures (a GitHub table aligns them with ---:).
NUMERIC = {"workers", "conns", "r/s median (min–max)", "p50 ms", "p99 ms", "errors", "USS/worker MB", "total PSS MB"}


def _cell(text: str) -> str:
    """A table cell: a pipe would end it, a newline would end the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def github_table(table: Table) -> list[str]:
    """A table as GitHub Markdown, the figures right-aligned."""
    lines = [
        "| " + " | ".join(_cell(h) for h in table.headers) + " |",
        "|" + "|".join("---:" if h in NUMERIC else "---" for h in table.headers) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return lines


def _bullets(lines: list[str]) -> list[str]:
    return [f"- {_cell(line.strip())}" for line in lines]


def markdown_report(suite: Suite) -> str:
    """The whole suite as paste-ready Markdown (GitHub flavour)."""
    lines = [
        f"**servebench** on {machine_line(suite)}; command: `{command_line(suite)}`",
    ]
    if settings := settings_lines(suite):  # recorded since servebench said them in every report
        lines += ["", *_bullets(settings)]
    for section in sections(suite):
        lines += [
            "",
            f"### `{section.path}`",
            "",
            f"load: {section.runs[0].generator}; medians of the repeats (min–max).",
        ]
        lines += [f"{line}." for line in section.notes]
        lines += ["", *github_table(run_table(section.runs))]
        explained = section.why + section.trends + section.failures + section.qualities
        if explained:
            lines += ["", *_bullets(explained)]
    if models := memory_model_lines(suite):
        lines += ["", "**memory model**", "", *_bullets(models)]
    if compared := comparisons(suite):
        lines += ["", "**comparisons**", "", *_bullets(compared)]
    if paired := pairs_lines(suite):  # --against*: the A/B, its pairs in time order
        table = github_table(pair_table(pair_rows(suite)))
        lines += ["", "**A/B in interleaved pairs**", "", *_bullets(paired), "", *table]
    if suite.notes:
        lines += ["", *_bullets([f"note: {note}" for note in suite.notes])]
    return "\n".join(lines) + "\n"
