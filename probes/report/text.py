"""The terminal report (tabulate), read at a glance."""

from __future__ import annotations

from tabulate import tabulate

from ..bench.model import Suite


def _rps(value: float) -> str:
    return "∞" if value == float("inf") else f"{value:,.0f}"


def view_cost_table(suite: Suite) -> str:
    """One row per probe: its in-process cost and the ceiling that cost allows."""
    cores = suite.metadata.usable_cores
    rows = [
        [
            cost.name,
            cost.status,
            f"{cost.wall_us_median:,.1f}",
            f"{cost.wall_us_p90:,.1f}",
            f"{cost.cpu_us_median:,.1f}",
            cost.response_bytes,
            _rps(cost.per_worker_rps),
            _rps(cost.machine_rps(cores)),
            cost.iterations,
        ]
        for cost in suite.view_costs
    ]
    headers = [
        "probe",
        "status",
        "wall µs (median)",
        "wall µs (p90)",
        "CPU µs (median)",
        "bytes",
        "max r/s per worker",
        f"max r/s ({cores} cores)",
        "calls",
    ]
    lines = [tabulate(rows, headers=headers, disable_numparse=True, colalign=("left",) + ("right",) * 8)]
    lines += [f"skipped {item.name}: {item.reason}" for item in suite.skipped]
    lines += [
        f"warning: {cost.name} answered {cost.status}; its figures are those of an error page"
        for cost in suite.view_costs
        if not 200 <= cost.status < 300
    ]
    return "\n".join(lines)
