"""The terminal report (tabulate), read at a glance."""

from __future__ import annotations

from tabulate import tabulate

from ..bench.judge.compare import faster_first
from ..bench.judge.wording import server_gain_text, shares_text
from ..bench.model.results import Run, Suite
from .comparisons import comparisons
from .lines import Section, memory_model_lines, rps_text, sections, t0_line
from .pairs_lines import terminal_pairs
from .rows import run_table
from .settings_lines import settings_lines


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
            rps_text(cost.per_worker_rps),
            rps_text(cost.machine_rps(cores)),
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
        elif not check.applicable:
            status = "N/A"
        else:
            status = "FAILED"
        found = check.processes.get("server")
        processes = f"{found}/{check.expected_server_processes}" if found is not None else "-"
        nginx = check.processes.get("nginx", "-")
        reason = check.reason.splitlines()[0] if check.reason else ""
        rows.append([check.label, f"{check.ready_s:.2f}" if check.ready_s else "-", processes, nginx, status, reason])
    headers = ["configuration", "ready s", "server procs (found/expected)", "nginx procs", "status", "reason"]
    lines = [tabulate(rows, headers=headers, disable_numparse=True)]
    for check in suite.checks:
        if not check.ok and "\n" in check.reason:
            lines.append(f"\n{check.label}: {check.reason}")
        lines += [f"{check.label}: log says: {warning}" for warning in check.warnings]
    return "\n".join(lines)


def _section_lines(section: Section, *, wide: bool) -> list[str]:
    """One URL: its heading, notes, table, then the why of each configuration, indented."""
    runs = section.runs
    table = run_table(runs, wide=wide)
    fronts = {row[table.headers.index("front")] for row in table.rows}
    behind = ""
    if not wide and len(fronts) == 1:  # one front for all: said once, its column left out
        front = fronts.pop()
        behind = f"{front}; " if front == "direct" else f"behind {front}; "
        table = table.without("front")
    lines = [f"{section.path}  ({behind}load: {runs[0].generator}; medians of the repeats)", *section.notes]
    lines.append(tabulate(table.rows, headers=table.headers, disable_numparse=True))
    lines += [f"  {line}" for line in section.why + section.trends + section.qualities]
    lines += [f"  {run.label}: log says: {warning}" for run in runs for warning in run.warnings[:3]]
    lines += [f"  {line}" for line in section.failures]
    if any(not run.timing for run in runs):
        lines.append(
            "  --no-timing: the servers ran the project's plain app, so there are no app figures"
            " (and no server-side count: its CPU per request is divided by the requests the client counted)"
        )
    return lines


def sweep_table(suite: Suite, *, wide: bool = False) -> str:
    """The table people came for (one per URL), why each caps, then memory models and comparisons."""
    lines: list[str] = settings_lines(suite)  # none in a result saved before they were recorded
    for section in sections(suite):
        if lines:
            lines.append("")
        lines += _section_lines(section, wide=wide)
    models = memory_model_lines(suite)
    if models:
        lines += ["", "memory model:", *(f"  {line}" for line in models)]
    compared = comparisons(suite)
    if compared:
        lines += ["", "comparisons:", *(f"  {line}" for line in compared)]
    lines += terminal_pairs(suite)  # --against*: the A/B, its pairs in time order
    lines += [f"note: {note}" for note in suite.notes]
    return "\n".join(lines)


def ratio_line(a_name: str, a: Run, b_name: str, b: Run, context: str) -> str | None:
    """'A ran 3.1 ± 0.2x faster than B (context)', with the spread of both sides propagated."""
    a_first, speed = faster_first([sample.ok_per_s for sample in a.samples], [sample.ok_per_s for sample in b.samples])
    if speed.ratio is None:
        return None
    fast, slow = (a_name, b_name) if a_first else (b_name, a_name)
    ratio, error = speed.ratio, speed.ratio_error or 0.0
    if not speed.differs:
        return f"{fast} and {slow}: no significant difference ({ratio:.2f} ± {error:.2f}x, {context})"
    digits = 2 if ratio < 1.5 else 1
    return f"{fast} ran {ratio:.{digits}f} ± {error:.{digits}f}x faster than {slow} ({context})"


def explain_report(suite: Suite, *, wide: bool = False) -> str:
    """The sweep, then a short diagnosis of its one URL: view cost, caps, verdict, what to do."""
    lines = [sweep_table(suite, wide=wide)]
    diagnosed = [(run, run.diagnosis) for run in suite.runs if run.diagnosis is not None and run.app == "project"]
    if not diagnosed:
        return lines[0]
    path = diagnosed[0][0].path
    lines += ["", f"diagnosis of {path}"]
    lines.append("  " + (t0_line(suite, path) or "t0: not measurable in-process; taken from the 1-worker run"))
    measured: dict[str, list[str]] = {}
    for run, diagnosis in diagnosed:
        measured.setdefault(run.kind, []).append(
            f"{run.workers} worker{'s' if run.workers > 1 else ''} {diagnosis.figures.throughput_rps:,.0f}"
            f" r/s ({run.verdict})"
        )
    lines += [f"  measured {kind}: " + ", ".join(items) for kind, items in measured.items()]
    last, diagnosis = max(
        diagnosed, key=lambda item: (item[0].workers * item[0].threads, item[1].figures.throughput_rps)
    )
    lines.append(f"  verdict at {last.label}: {last.verdict}: {diagnosis.why}")
    if diagnosis.shares:
        lines.append(f"  CPU per request: {shares_text(diagnosis.shares)}{server_gain_text(diagnosis.server_gain_pct)}")
    lines.append(f"  what to do: {diagnosis.advice}")
    return "\n".join(lines)
