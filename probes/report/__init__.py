"""Reporters: pure functions from the typed results to text. They never start processes."""

from __future__ import annotations

from collections.abc import Callable

from ..bench.model.results import Suite
from .csv import csv_report
from .html import html_report
from .markdown import markdown_report
from .terminal import check_table, explain_report, sweep_table, view_cost_table

# --report's formats (the file's extension picks one, plan.REPORT_FORMATS).
RENDERERS: dict[str, Callable[[Suite], str]] = {"markdown": markdown_report, "csv": csv_report, "html": html_report}


def terminal_report(suite: Suite, *, job: str, wide: bool = False) -> str:
    """What the terminal shows after a job ("render": a saved result, whichever job wrote it)."""
    if job == "render":
        job = "sweep" if suite.runs else "check" if suite.checks else "view-cost"
    if job == "explain":
        return explain_report(suite, wide=wide)
    if job == "sweep":
        return sweep_table(suite, wide=wide)
    return check_table(suite) if job == "check" else view_cost_table(suite)
