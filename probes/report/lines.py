"""The lines every report shares: how a suite was measured, and per URL the notes and the why of each run.

Lines are unindented; the terminal indents them under its table, Markdown makes them bullets and
HTML list items. A nested line (the files under "logs kept in") starts with two spaces.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ..bench.judge.client_cost import client_cost
from ..bench.judge.quality import SHARED_MACHINE, SURE_PCT
from ..bench.judge.wording.client_cost import client_cost_text
from ..bench.model.memory import MemoryModel
from ..bench.model.results import Run, Suite
from .mix_lines import mix_lines
from .sweep_lines import trend_lines


def rps_text(value: float) -> str:
    """A ceiling in r/s: '1,481', or '∞' for a view that costs nothing measurable."""
    return "∞" if value == float("inf") else f"{value:,.0f}"


def target_paths(suite: Suite) -> list[str]:
    """The URLs the suite loaded, in the order first measured."""
    return list(dict.fromkeys(run.path for run in suite.runs))


def t0_line(suite: Suite, path: str) -> str | None:
    """'t0 in-process: 2.06 ms wall, ...': the view's cost without a server, and the ceilings it sets."""
    cost = next((cost for cost in suite.view_costs if cost.path == path), None)
    if cost is None:
        return None
    cores = suite.metadata.usable_cores
    return (
        f"t0 in-process: {cost.wall_us_median / 1000:.2f} ms wall, {cost.cpu_us_median / 1000:.2f} ms CPU:"
        f" at most {rps_text(cost.per_worker_rps)} r/s per worker, {rps_text(cost.machine_rps(cores))} r/s on"
        f" {cores} cores"
    )


def instrument_line(suite: Suite, path: str) -> str | None:
    """What the timing wrapper costs per request in-process, and where that cost is booked."""
    cost = next((cost for cost in suite.instrument if cost.path == path), None)
    if cost is None:
        return None
    measured_on = f", on {cost.reference}: the view's own time would hide µs" if cost.reference else ""
    return (
        f"timing wrapper in-process: {cost.us_per_request:+.1f} µs CPU per request"
        f" ({cost.us_min:+.1f} to {cost.us_max:+.1f} over {cost.pairs} alternations with the plain app{measured_on}),"
        " booked as the role 'instrument', not the view's"
    )


def why_lines(runs: list[Run]) -> list[str]:
    """'why LABEL: ...' per diagnosed run; configurations with the same why share one line."""
    groups: dict[str, list[str]] = {}
    for run in runs:
        if run.diagnosis is not None:
            groups.setdefault(run.diagnosis.why, []).append(run.label)
    return [
        f"why {labels[0]}" + (f" (and {len(labels) - 1} more)" if len(labels) > 1 else "") + f": {why}"
        for why, labels in groups.items()
    ]


def quality_lines(runs: list[Run]) -> list[str]:
    """'LABEL: noisy: why' for each run whose quality is not ok and that no diagnosis explains."""
    return [
        f"{run.label}: {run.quality}: {'; '.join(run.quality_reasons) or run.error}"
        for run in runs
        if run.quality != "ok" and run.diagnosis is None
    ]


def window_lines(runs: list[Run]) -> list[str]:
    """One line per run whose windows fell short of their requests at the time cap, were set aside, whose
    median r/s stayed unsure after the most windows (its interval), or whose load came from locust (its cost)."""
    lines = []
    for run in runs:
        summary, parts = run.summary, []
        if summary.capped_windows and summary.edge_weight_pct is not None:
            seconds = max(s.duration_s for s in run.samples if s.capped)
            windows = "a window" if summary.capped_windows == 1 else f"{summary.capped_windows} windows"
            parts.append(
                f"{windows} reached the {seconds:.0f} s cap with as few as {summary.least_requests} of the"
                f" {summary.target_requests} requests sized for: the {run.concurrency} in flight at its edges"
                f" weigh up to ±{summary.edge_weight_pct:.0f} % in its figures"
            )
        interval = summary.rps_interval_pct
        if run.max_windows and run.quality == "noisy" and interval is not None and interval > SURE_PCT:
            parts.append(
                f"the median r/s is known to ±{interval:.1f} % (95 % interval) after {len(run.samples)} windows"
            )
        if run.set_aside:
            kept = len(run.samples)
            parts.append(
                f"{run.set_aside} window{'s' if run.set_aside > 1 else ''} set aside and measured again:"
                f" another process took ≥ {100 * SHARED_MACHINE:.0f} % of the cores"
                + (f"; only {kept} window kept, so its r/s has no interval" if kept < 2 else "")
            )
        if (cost := client_cost(run)) is not None:
            parts.append(client_cost_text(cost))
        if parts:
            lines.append(f"{run.label}: " + "; ".join(parts))
    if summary := interval_summary(runs):
        lines.append(summary)
    return lines


def interval_summary(runs: list[Run]) -> str | None:
    """How sure the r/s of runs measured until sure are: 'r/s to ±3 % (95 % interval) in 8 of 20 rows, the
    widest ±6.1 % (uwsgi w1 nginx/tcp); 2-5 windows each'; None when no run was (results saved before)."""
    sized = [(run, pct) for run in runs if run.max_windows and (pct := run.summary.rps_interval_pct) is not None]
    if len(sized) < 2:
        return None
    sure = sum(1 for _, pct in sized if pct <= SURE_PCT)
    widest, pct = max(sized, key=lambda item: item[1])
    counts = sorted(len(run.samples) for run, _ in sized)
    each = f"{counts[0]}" if counts[0] == counts[-1] else f"{counts[0]}-{counts[-1]}"
    return (
        f"r/s to ±{SURE_PCT:.0f} % (95 % interval) in {sure} of {len(sized)} rows"
        + (f", the widest ±{pct:.1f} % ({widest.label})" if pct > SURE_PCT else "")
        + f"; {each} windows each"
    )


def failure_lines(runs: list[Run]) -> list[str]:
    """After the why lines: the other exceptions failing runs raised, and where their logs were kept."""
    lines, kept = [], []
    for run in runs:
        if run.failure is None:
            continue
        lines += [
            f"{run.label}: also raised {seen.type}: {seen.message.splitlines()[0] if seen.message else ''}"
            f" at {seen.where}"
            for seen in run.failure.exceptions[1:]
        ]
        kept += [(Path(log).parent, Path(log).name, run.label) for log in run.failure.logs]
    for directory in dict.fromkeys(parent for parent, _, _ in kept):
        lines.append(f"logs kept in {directory}/:")
        names: dict[str, list[str]] = {}
        for parent, name, label in kept:
            if parent == directory:
                names.setdefault(label, []).append(name)
        lines += [f"  {label}: {', '.join(files)}" for label, files in names.items()]
    return lines


@dataclass(frozen=True)
class Section:
    """One URL of the suite: its runs, the notes above its table and the lines below it."""

    path: str
    runs: list[Run]
    notes: list[str]  # t0 and the timing wrapper's cost, when measured
    why: list[str]
    trends: list[str]  # scaling, knee, profiles (sweep_lines)
    failures: list[str]
    qualities: list[str]  # undiagnosed runs' quality, windows capped or set aside


def sections(suite: Suite) -> list[Section]:
    """One section per URL, in the order the URLs were measured."""
    built = []
    for path in target_paths(suite):
        runs = [run for run in suite.runs if run.path == path]
        notes = [line for line in (t0_line(suite, path), instrument_line(suite, path)) if line] + mix_lines(runs)
        # How the generator's figures were made when it says (several client hosts merged, ...): once each.
        notes += list(dict.fromkeys(note for run in runs for s in run.samples for note in s.load_notes))
        built.append(
            Section(
                path,
                runs,
                notes,
                why_lines(runs),
                trend_lines(runs),
                failure_lines(runs),
                quality_lines(runs) + window_lines(runs),
            )
        )
    return built


def memory_model_name(model: MemoryModel) -> str:
    """'gunicorn [nginx]', 'uwsgi (null app) [direct]': a memory model's server kind, app and front."""
    return model.kind + (" (null app)" if model.app == "null" else "") + f" [{model.front}]"


def memory_model_lines(suite: Suite) -> list[str]:
    """'gunicorn [nginx]: total PSS ≈ 31.0 MB + 24.0 MB × workers (...)' for each model with a fitted line."""
    return [
        f"{memory_model_name(model)}: total PSS ≈ {model.fit.base_bytes / 1e6:.1f} MB"
        f" + {model.fit.per_worker_bytes / 1e6:.1f} MB × workers (r² {model.fit.r2:.2f}, {len(model.points)} points)"
        for model in suite.memory_models
        if model.fit is not None
    ]


def command_line(suite: Suite) -> str:
    """The command that measured this suite: as given, else rebuilt from the runs (results of call_command)."""
    if suite.metadata.command:
        return "python manage.py " + shlex.join(suite.metadata.command)
    runs = suite.runs
    if not runs:
        return "python manage.py servebench --view-cost" if suite.view_costs else "python manage.py servebench"
    parts = ["python manage.py servebench"]
    parts += [f"--url {path}" for path in dict.fromkeys(run.path for run in runs)]
    parts += [f"--server {kind}" for kind in dict.fromkeys(run.kind for run in runs)]
    parts.append("--workers " + ",".join(str(w) for w in sorted({run.workers for run in runs})))
    parts += [f"--front {front}" for front in dict.fromkeys(run.front for run in runs)]
    parts += [f"--socket {s}" for s in dict.fromkeys(run.socket for run in runs if run.front != "direct")]
    if any(run.threads > 1 for run in runs):
        parts.append(f"--threads {max(run.threads for run in runs)}")
    parts.append(f"--loadgen {runs[0].generator}")
    repeats = max(len(run.samples) for run in runs)
    if repeats:
        parts.append(f"--repeat {repeats}")
    if not runs[0].keepalive:
        parts.append("--no-keepalive")
    if any(run.app == "null" for run in runs):
        parts.append("--null-app")
    if not runs[0].timing:
        parts.append("--no-timing")
    return " ".join(parts)


def machine_line(suite: Suite) -> str:
    """'host (Linux…), 2 of 4 cores, Python 3.11.7, Django 5.2, …, measured 2026-…'."""
    meta = suite.metadata
    versions = ", ".join(f"{name} {version}" for name, version in sorted(meta.versions.items()))
    return (
        f"{meta.hostname} ({meta.platform}), {meta.usable_cores} of {meta.cpu_count} cores,"
        f" load {meta.load_avg_1m:.2f}, Python {meta.python}"
        + (f", {versions}" if versions else "")
        + f", measured {meta.created_utc}"
    )
