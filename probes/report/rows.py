"""The table of runs every report shows: one row of formatted cells per configuration, from Run.summary."""

from __future__ import annotations

from dataclasses import dataclass

from ..bench.model.results import Run
from ..bench.model.summary import REPORTED_ROLES

CPU_LABEL = "CPU µs/req"  # the wide CPU column: its roles follow (split_roles)
# Every figure of a row (the terminal's --wide table and the Markdown table).
WIDE_HEADERS = [
    "server",
    "workers",
    "front",
    "r/s median (min–max)",
    "p50 ms",
    "p99 ms",
    "errors",
    "serving",
    "USS/worker MB",
    "total PSS MB",
    f"{CPU_LABEL} client/nginx/server/view",  # and every other role a run of the table has (split_roles)
    "quality",
]
CPU_HEADER = next(index for index, header in enumerate(WIDE_HEADERS) if header.startswith(CPU_LABEL))
# The terminal's table: what fits in 120 columns, by header and index in the wide row.
COMPACT = {"server": 0, "w": 1, "front": 2, "r/s (min–max)": 3, "p99 ms": 5, "err": 6, "PSS MB": 9}
COMPACT_HEADERS = [*COMPACT, "CPU µs", "quality"]  # CPU µs: per request, every role together
SPLIT_ROLES = ("client", "nginx", "server", "view")  # the wide row's CPU column, in this order, at least


def split_roles(runs: list[Run]) -> tuple[str, ...]:
    """The wide CPU column's roles: SPLIT_ROLES, then every other role any of the runs measured (the database,
    memcached, the timing wrapper...), so that the column adds up to the compact table's total."""
    measured = {role for run in runs if run.samples for role in run.summary.cpu_us_per_request}
    return (*SPLIT_ROLES, *(role for role in REPORTED_ROLES if role in measured and role not in SPLIT_ROLES))


def front_label(run: Run) -> str:
    """'direct' or 'nginx/tcp': the front as every report names it."""
    return "direct" if run.front == "direct" else f"nginx/{run.socket}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f}"


def wide_cells(run: Run, roles: tuple[str, ...] = SPLIT_ROLES) -> list[str]:
    """One configuration's figures, medians over its repeats (WIDE_HEADERS); its CPU column has `roles`."""
    front = front_label(run)
    if not run.samples:
        return [run.kind, str(run.workers), front, *["-"] * 8, run.quality]
    summary = run.summary
    rate, cpu_by_role = summary.rps, summary.cpu_us_per_request
    cpu = "/".join(f"{cpu_by_role[role]:.0f}" if role in cpu_by_role else "-" for role in roles)
    # How many server processes really served (the classic "fcgi stayed at one process").
    able = len(run.memory.workers) or 1  # a single-process server (flup threaded) serves from its root
    return [
        run.kind + (" (null app)" if run.app == "null" else ""),
        f"{run.workers}" + (f"x{run.threads}" if run.threads > 1 else ""),
        front,
        f"{rate.median:,.0f} ({rate.low:,.0f}–{rate.high:,.0f})",
        f"{summary.latency_ms['p50']:.2f}",
        f"{summary.latency_ms['p99']:.2f}",
        str(summary.errors),
        f"{summary.serving_processes}/{able}",
        _mb(summary.uss_per_worker_bytes),
        _mb(summary.total_pss_bytes),
        cpu,
        run.quality,
    ]


def compact_cells(run: Run) -> list[str]:
    """wide_cells' figures that fit a 120-column terminal, and the CPU per request of every role together."""
    row = wide_cells(run)
    row[0] = row[0].replace(" (null app)", " null")
    total = run.summary.total_cpu_us_per_request
    return [*(row[index] for index in COMPACT.values()), "-" if total is None else f"{total:.0f}", run.quality]


@dataclass(frozen=True)
class Table:
    """Headers and rows of cells, ready for tabulate or a GitHub table."""

    headers: list[str]
    rows: list[list[str]]

    def without(self, header: str) -> Table:
        """The table without one column."""
        index = self.headers.index(header)
        return Table(
            [h for i, h in enumerate(self.headers) if i != index],
            [[c for i, c in enumerate(row) if i != index] for row in self.rows],
        )


def run_table(runs: list[Run], *, wide: bool = True) -> Table:
    """The runs of one URL with their verdicts; a concurrency sweep gets its level after the workers."""
    if wide:
        roles = split_roles(runs)
        rows = [[*wide_cells(run, roles), run.verdict or "-"] for run in runs]
        headers = [*WIDE_HEADERS, "verdict"]
        headers[CPU_HEADER] = f"{CPU_LABEL} {'/'.join(roles)}"
    else:
        rows = [[*compact_cells(run), run.verdict or "-"] for run in runs]
        headers = [*COMPACT_HEADERS, "verdict"]
    if len({run.concurrency for run in runs}) > 1:
        rows = [[*row[:2], str(run.concurrency), *row[2:]] for row, run in zip(rows, runs, strict=True)]
        headers = [*headers[:2], "conns", *headers[2:]]
    return Table(headers, rows)
