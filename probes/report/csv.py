"""The CSV report: one row per configuration, one column per figure, units in the header, stable order."""

from __future__ import annotations

import csv
import io

from ..bench.model.results import Run, Suite
from ..bench.model.summary import PERCENTILES, REPORTED_ROLES

# The column order is part of the format: new columns go at the end.
COLUMNS = (
    "path",
    "server",
    "app",
    "workers",
    "threads",
    "front",
    "socket",
    "concurrency",
    "keepalive",
    "generator",
    "repeats",
    "rps_median",
    "rps_min",
    "rps_max",
    *(f"latency_{p}_ms" for p in PERCENTILES),
    "errors",
    "uss_per_worker_bytes",
    "total_pss_bytes",
    *(f"cpu_{role}_us_per_request" for role in REPORTED_ROLES),
    "quality",
    "verdict",
)


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _row(run: Run) -> list[str]:
    summary = run.summary
    return [
        run.path,
        run.kind,
        run.app,
        str(run.workers),
        str(run.threads),
        run.front,
        run.socket,
        str(run.concurrency),
        "yes" if run.keepalive else "no",
        run.generator,
        str(len(run.samples)),
        *(_number(v, 1) if run.samples else "" for v in (summary.rps.median, summary.rps.low, summary.rps.high)),
        *(_number(summary.latency_ms[p], 3) if run.samples else "" for p in PERCENTILES),
        str(summary.errors),
        _number(summary.uss_per_worker_bytes, 0),
        _number(summary.total_pss_bytes, 0),
        *(_number(summary.cpu_us_per_request.get(role), 1) for role in REPORTED_ROLES),
        run.quality,
        run.verdict,
    ]


def csv_report(suite: Suite) -> str:
    """Every run of the suite as CSV (RFC 4180, \\r\\n line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(_row(run) for run in suite.runs)
    return out.getvalue()
