"""The terminal report (tabulate), read at a glance."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from ..bench.judge.compare import faster_first
from ..bench.judge.wording import server_gain_text, shares_text
from ..bench.model.results import Run, Suite
from ..bench.model.stats import Spread
from .lines import front_label, memory_series, run_figures
from .sweep_lines import trend_lines


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


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f}"


def _us(values: list[float]) -> str:
    return f"{Spread.of(values).median:.0f}" if values else "-"


def run_row(run: Run) -> list[str]:
    """One configuration's figures, medians over its repeats."""
    samples = run.samples
    front = front_label(run)
    if not samples:
        return [run.kind, str(run.workers), front, *["-"] * 8, run.quality]
    figures = run_figures(run)
    rate, cpu_by_role = figures.rps, figures.cpu_us_per_request
    cpu = "/".join(
        f"{cpu_by_role[role]:.0f}" if role in cpu_by_role else "-" for role in ("client", "nginx", "server", "view")
    )
    # How many server processes really served (the classic "fcgi stayed at one process").
    serving = max(len(s.served_by_pid) for s in samples)
    able = len(run.workers_memory) or 1  # a single-process server (flup threaded) serves from its root
    return [
        run.kind + (" (null app)" if run.app == "null" else ""),
        f"{run.workers}" + (f"x{run.threads}" if run.threads > 1 else ""),
        front,
        f"{rate.median:,.0f} ({rate.low:,.0f}–{rate.high:,.0f})",
        f"{figures.latency_ms['p50']:.2f}",
        f"{figures.latency_ms['p99']:.2f}",
        str(figures.errors),
        f"{serving}/{able}",
        _mb(figures.uss_per_worker_bytes),
        _mb(figures.total_pss_bytes),
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
    "serving",
    "USS/worker MB",
    "total PSS MB",
    "CPU µs/req client/nginx/server/view",
    "quality",
]


def memory_models(suite: Suite) -> list[str]:
    """'gunicorn: total ≈ 31 MB + 24 MB × workers' lines, fitted from the measured PSS."""
    return [
        f"{series.name}: total PSS ≈ {series.fit.base_bytes / 1e6:.1f} MB"
        f" + {series.fit.per_worker_bytes / 1e6:.1f} MB × workers (r² {series.fit.r2:.2f}, {len(series.points)} points)"
        for series in memory_series(suite)
        if series.fit is not None
    ]


def t0_line(suite: Suite, path: str) -> str | None:
    cost = next((cost for cost in suite.view_costs if cost.path == path), None)
    if cost is None:
        return None
    cores = suite.metadata.usable_cores
    return (
        f"t0 in-process: {cost.wall_us_median / 1000:.2f} ms wall, {cost.cpu_us_median / 1000:.2f} ms CPU:"
        f" at most {_rps(cost.per_worker_rps)} r/s per worker, {_rps(cost.machine_rps(cores))} r/s on {cores} cores"
    )


def instrument_line(suite: Suite, path: str) -> str | None:
    cost = next((cost for cost in suite.instrument if cost.path == path), None)
    if cost is None:
        return None
    measured_on = f", on {cost.reference}: the view's own time would hide µs" if cost.reference else ""
    return (
        f"timing wrapper in-process: {cost.us_per_request:+.1f} µs CPU per request"
        f" ({cost.us_min:+.1f} to {cost.us_max:+.1f} over {cost.pairs} alternations with the plain app{measured_on}),"
        " booked as the role 'instrument', not the view's"
    )


def target_paths(suite: Suite) -> list[str]:
    return list(dict.fromkeys(run.path for run in suite.runs))


# The terminal's table: what fits in 120 columns (the wide one, --wide, has every figure).
COMPACT = {"server": 0, "w": 1, "front": 2, "r/s (min–max)": 3, "p99 ms": 5, "err": 6, "PSS MB": 9}
COMPACT_HEADERS = [*COMPACT, "CPU µs", "quality"]  # CPU µs: per request, every role together


def compact_row(run: Run) -> list[str]:
    """run_row's figures that fit a 120-column terminal, and the CPU per request of every role together."""
    row = run_row(run)
    row[0] = row[0].replace(" (null app)", " null")
    cpu = [1e6 * sum(s.cpu_s.values()) / s.requests for s in run.samples if s.requests]
    return [*(row[index] for index in COMPACT.values()), _us(cpu), run.quality]


def sweep_table(suite: Suite, *, wide: bool = False) -> str:
    """The table people came for (one per URL), why each caps, then memory models and comparisons."""
    lines: list[str] = []
    for path in target_paths(suite):
        runs = [run for run in suite.runs if run.path == path]
        if lines:
            lines.append("")
        row, headers = (run_row, SWEEP_HEADERS) if wide else (compact_row, COMPACT_HEADERS)
        rows = [[*row(run), run.verdict or "-"] for run in runs]
        headers = [*headers, "verdict"]
        fronts = {line[2] for line in rows}
        behind = ""
        if not wide and len(fronts) == 1:  # one front for all: said once, its column left out
            front = fronts.pop()
            behind = f"{front}; " if front == "direct" else f"behind {front}; "
            rows, headers = [line[:2] + line[3:] for line in rows], headers[:2] + headers[3:]
        if len({run.concurrency for run in runs}) > 1:  # a concurrency sweep: its level after the workers
            rows = [[*line[:2], str(run.concurrency), *line[2:]] for line, run in zip(rows, runs, strict=True)]
            headers = [*headers[:2], "conns", *headers[2:]]
        lines.append(f"{path}  ({behind}load: {runs[0].generator}; medians of the repeats)")
        if t0 := t0_line(suite, path):
            lines.append(t0)
        if instrument := instrument_line(suite, path):
            lines.append(instrument)
        lines.append(tabulate(rows, headers=headers, disable_numparse=True))
        lines += why_lines(runs)
        lines += [f"  {line}" for line in trend_lines(runs)]
        lines += [
            f"  {run.label}: {run.quality}: {'; '.join(run.quality_reasons) or run.error}"
            for run in runs
            if run.quality != "ok" and run.diagnosis is None
        ]
        lines += [f"  {run.label}: log says: {warning}" for run in runs for warning in run.warnings[:3]]
        lines += failure_lines(runs)
        if any(not run.timing for run in runs):
            lines.append("  --no-timing: the servers ran the project's plain app, so there are no app figures")
    models = memory_models(suite)
    if models:
        lines += ["", "memory model:", *(f"  {line}" for line in models)]
    compared = comparisons(suite)
    if compared:
        lines += ["", "comparisons:", *(f"  {line}" for line in compared)]
    lines += [f"note: {note}" for note in suite.notes]
    return "\n".join(lines)


def why_lines(runs: list[Run]) -> list[str]:
    """'why LABEL: ...' per diagnosed run; configurations with the same why share one line."""
    groups: dict[str, list[str]] = {}
    for run in runs:
        if run.diagnosis is not None:
            groups.setdefault(run.diagnosis.why, []).append(run.label)
    return [
        f"  why {labels[0]}" + (f" (and {len(labels) - 1} more)" if len(labels) > 1 else "") + f": {why}"
        for why, labels in groups.items()
    ]


def failure_lines(runs: list[Run]) -> list[str]:
    """After the why lines: the other exceptions failing runs raised, and where their logs were kept."""
    lines, kept = [], []
    for run in runs:
        if run.failure is None:
            continue
        lines += [
            f"  {run.label}: also raised {seen.type}: {seen.message.splitlines()[0] if seen.message else ''}"
            f" at {seen.where}"
            for seen in run.failure.exceptions[1:]
        ]
        kept += [(Path(log).parent, Path(log).name, run.label) for log in run.failure.logs]
    for directory in dict.fromkeys(parent for parent, _, _ in kept):
        lines.append(f"  logs kept in {directory}/:")
        names: dict[str, list[str]] = {}
        for parent, name, label in kept:
            if parent == directory:
                names.setdefault(label, []).append(name)
        lines += [f"    {label}: {', '.join(files)}" for label, files in names.items()]
    return lines


# Probe pairs the classic benchmark's readers asked about: (faster candidate, baseline).
KNOWN_PAIRS = (
    ("session-cache", "session-db"),
    ("session-cached-db", "session-db"),
    ("session-signed-cookies", "session-db"),
    ("template-jinja2", "template-django"),
)


def _config_key(run: Run) -> tuple[object, ...]:
    return (run.kind, run.workers, run.threads, run.front, run.socket, run.app, run.concurrency)


def _where(run: Run) -> str:
    return f"{run.workers} worker{'s' if run.workers > 1 else ''} " + (
        "direct" if run.front == "direct" else f"behind nginx/{run.socket}"
    )


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


def comparisons(suite: Suite) -> list[str]:
    """Comparison lines wherever the sweep measured both sides."""
    name_of = {cost.path: cost.name for cost in suite.view_costs}
    usable = [run for run in suite.runs if run.samples and run.quality != "failing"]
    lines = []
    by_config: dict[tuple[object, ...], dict[str, Run]] = {}
    for run in usable:
        by_config.setdefault(_config_key(run), {})[name_of.get(run.path, run.path)] = run
    paths = target_paths(suite)
    for runs in by_config.values():
        names = list(runs)
        pairs = [(a, b) for a, b in KNOWN_PAIRS if a in runs and b in runs]
        if not pairs and len(names) == 2:
            pairs = [(names[0], names[1])]
        for a, b in pairs:
            first = runs[a]
            line = ratio_line(a, runs[a], b, runs[b], f"{first.kind}, {_where(first)}")
            if line:
                lines.append(line)
    for path in paths:
        groups: dict[tuple[object, ...], list[Run]] = {}
        for run in usable:
            if run.path == path and run.app == "project":
                groups.setdefault((run.workers, run.threads, run.front, run.socket, run.concurrency), []).append(run)
        for runs_here in groups.values():
            baseline = next((run for run in runs_here if run.kind == "gunicorn"), runs_here[0])
            for run in runs_here:
                if run is not baseline:
                    line = ratio_line(
                        run.kind, run, baseline.kind, baseline, f"{name_of.get(path, path)}, {_where(run)}"
                    )
                    if line:
                        lines.append(line)
    for run in usable:
        if run.app != "project":
            continue
        floor = next(
            (
                other
                for other in usable
                if other.app == "null"
                and _config_key(other)[:5] == _config_key(run)[:5]
                and other.concurrency == run.concurrency
            ),
            None,
        )
        if floor is not None:
            app_rate = Spread.of([sample.ok_per_s for sample in run.samples]).median
            floor_rate = Spread.of([sample.ok_per_s for sample in floor.samples]).median
            lines.append(
                f"{run.kind}, {_where(run)}: {name_of.get(run.path, run.path)} runs at"
                f" {100 * app_rate / floor_rate:.0f} % of the null app's {floor_rate:,.0f} r/s (the server's floor)"
            )
    return lines


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
