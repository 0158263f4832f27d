"""The Markdown report: a header line, then per URL a GitHub table, why lines, memory model and comparisons."""

from __future__ import annotations

from ..bench.model.results import Run, Suite
from .lines import command_line, machine_line
from .sweep_lines import trend_lines
from .terminal import (
    SWEEP_HEADERS,
    comparisons,
    failure_lines,
    instrument_line,
    memory_models,
    run_row,
    t0_line,
    target_paths,
    why_lines,
)

# Right-aligned columns: the figures (a GitHub table aligns them with ---:).
NUMERIC = {"workers", "conns", "r/s median (min–max)", "p50 ms", "p99 ms", "errors", "USS/worker MB", "total PSS MB"}


def _cell(text: str) -> str:
    """A table cell: a pipe would end it, a newline would end the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def table(runs: list[Run]) -> list[str]:
    """The GitHub table of runs: the terminal table's columns, plus the verdict."""
    headers = [*SWEEP_HEADERS, "verdict"]
    rows = [[*run_row(run), run.verdict or "-"] for run in runs]
    if len({run.concurrency for run in runs}) > 1:  # a concurrency sweep: its level after the workers
        headers = [*headers[:2], "conns", *headers[2:]]
        rows = [[*row[:2], str(run.concurrency), *row[2:]] for row, run in zip(rows, runs, strict=True)]
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "|".join("---:" if h in NUMERIC else "---" for h in headers) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _bullets(lines: list[str]) -> list[str]:
    return [f"- {_cell(line.strip())}" for line in lines]


def markdown_report(suite: Suite) -> str:
    """The whole suite as paste-ready Markdown (GitHub flavour)."""
    lines = [
        f"**servebench** on {machine_line(suite)}; command: `{command_line(suite)}`",
    ]
    for path in target_paths(suite):
        runs = [run for run in suite.runs if run.path == path]
        lines += ["", f"### `{path}`", "", f"load: {runs[0].generator}; medians of the repeats (min–max)."]
        lines += [f"{line}." for line in (t0_line(suite, path), instrument_line(suite, path)) if line]
        lines += ["", *table(runs)]
        explained = why_lines(runs) + trend_lines(runs) + failure_lines(runs)
        explained += [
            f"{run.label}: {run.quality}: {'; '.join(run.quality_reasons) or run.error}"
            for run in runs
            if run.quality != "ok" and run.diagnosis is None
        ]
        if explained:
            lines += ["", *_bullets(explained)]
    if models := memory_models(suite):
        lines += ["", "**memory model**", "", *_bullets(models)]
    if compared := comparisons(suite):
        lines += ["", "**comparisons**", "", *_bullets(compared)]
    if suite.notes:
        lines += ["", *_bullets([f"note: {note}" for note in suite.notes])]
    return "\n".join(lines) + "\n"
