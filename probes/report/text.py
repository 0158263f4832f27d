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


def check_table(suite: Suite) -> str:
    """One line per configuration: ready time, processes found, OK / FAILED / N/A with the reason."""
    rows = []
    for check in suite.checks:
        if check.ok:
            status = "OK"
        elif check.reason.startswith("not applicable"):
            status = "N/A"
        else:
            status = "FAILED"
        found = check.processes.get("server")
        processes = f"{found}/{check.expected_server_processes}" if found is not None else "-"
        nginx = check.processes.get("nginx", "-")
        reason = check.reason.splitlines()[0] if check.reason else ""
        rows.append(
            [check.label, f"{check.ready_s:.2f}" if check.ready_s else "-", processes, nginx, status, reason]
        )
    headers = ["configuration", "ready s", "server procs (found/expected)", "nginx procs", "status", "reason"]
    lines = [tabulate(rows, headers=headers, disable_numparse=True)]
    for check in suite.checks:
        if not check.ok and "\n" in check.reason:
            lines.append(f"\n{check.label}: {check.reason}")
        lines += [f"{check.label}: log says: {warning}" for warning in check.warnings]
    return "\n".join(lines)
