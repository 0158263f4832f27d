"""The terminal report (tabulate), read at a glance."""

from __future__ import annotations

from tabulate import tabulate

from ..bench.memory import fit_memory
from ..bench.model import Run, Suite
from ..bench.stats import Spread


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


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f}"


def _us(values: list[float]) -> str:
    return f"{Spread.of(values).median:.0f}" if values else "-"


def run_row(run: Run) -> list[str]:
    """One configuration's figures, medians over its repeats."""
    samples = run.samples
    if not samples:
        return [run.kind, str(run.workers), run.front, "-", "-", "-", "-", "-", "-", "-", run.quality]
    rate = Spread.of([s.ok_per_s for s in samples])
    p50 = Spread.of([s.latency_ms.get("p50", 0.0) for s in samples]).median
    p99 = Spread.of([s.latency_ms.get("p99", 0.0) for s in samples]).median
    errors = sum(s.requests - s.ok for s in samples)
    worker_uss = [float(p["uss_bytes"]) for p in run.workers_memory]
    per_worker = Spread.of(worker_uss).median if worker_uss else None
    cpu = "/".join(
        _us([v for s in samples if (v := s.cpu_us_per_request(role)) is not None])
        for role in ("client", "nginx", "server")
    )
    return [
        run.kind + (" (null app)" if run.app == "null" else ""),
        f"{run.workers}" + (f"x{run.threads}" if run.threads > 1 else ""),
        run.front if run.front == "direct" else f"nginx/{run.socket}",
        f"{rate.median:,.0f} ({rate.low:,.0f}–{rate.high:,.0f})",
        f"{p50:.2f}",
        f"{p99:.2f}",
        str(errors),
        _mb(per_worker),
        _mb(run.total_pss_bytes if run.memory else None),
        cpu,
        run.quality,
    ]


SWEEP_HEADERS = [
    "server",
    "workers",
    "front",
    "r/s median (min–max)",
    "p50 ms",
    "p99 ms",
    "errors",
    "USS/worker MB",
    "total PSS MB",
    "CPU µs/req client/nginx/server",
    "quality",
]


def memory_models(suite: Suite) -> list[str]:
    """'gunicorn: total ≈ 31 MB + 24 MB × workers' lines, fitted from the measured PSS."""
    groups: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for run in suite.runs:
        if run.memory:
            groups.setdefault((run.kind, run.app, run.front), []).append(
                (run.workers, float(run.total_pss_bytes))
            )
    lines = []
    for (kind, app, front), points in groups.items():
        fit = fit_memory(points)
        if fit is None:
            continue
        name = kind + (" (null app)" if app == "null" else "") + f" [{front}]"
        lines.append(
            f"{name}: total PSS ≈ {fit.base_bytes / 1e6:.1f} MB"
            f" + {fit.per_worker_bytes / 1e6:.1f} MB × workers (r² {fit.r2:.2f}, {len(points)} points)"
        )
    return lines


def sweep_table(suite: Suite) -> str:
    """The table people came for, then the memory model and what to distrust."""
    path = suite.runs[0].path if suite.runs else ""
    generator = suite.runs[0].generator if suite.runs else ""
    lines = [f"{path}  (load: {generator}; medians of the repeats)"]
    lines.append(tabulate([run_row(run) for run in suite.runs], headers=SWEEP_HEADERS, disable_numparse=True))
    models = memory_models(suite)
    if models:
        lines += ["", "memory model:", *(f"  {line}" for line in models)]
    flagged = [run for run in suite.runs if run.quality != "ok"]
    if flagged:
        lines.append("")
    for run in flagged:
        lines.append(f"{run.label}: {run.quality}: {'; '.join(run.quality_reasons) or run.error}")
    for run in suite.runs:
        lines += [f"{run.label}: log says: {warning}" for warning in run.warnings[:3]]
    lines += [f"note: {note}" for note in suite.notes]
    return "\n".join(lines)
