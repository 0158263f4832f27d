"""The lines of what a sweep shows across configurations (scaling, knee) and of each profile,
shared by the terminal, Markdown and HTML reports."""

from __future__ import annotations

from pathlib import Path

from ..bench.judge.across_runs import levels_vary
from ..bench.judge.wording import thread_shares_text
from ..bench.model.results import Run
from .rows import front_label


def _server(run: Run) -> str:
    threads = f" x{run.threads}t" if run.threads > 1 else ""
    return f"{run.kind}{threads} {front_label(run)}" + (" null-app" if run.app == "null" else "")


def scaling_lines(runs: list[Run]) -> list[str]:
    """'scaling gunicorn direct: partly serialized (σ = 0.62) over 1, 2, 4 workers: σ = ...; what to do: ...'."""
    seen: dict[tuple[str, object], Run] = {}
    sweeping = levels_vary(runs)  # one fit per level of a concurrency sweep, else one per server
    for run in runs:
        if run.diagnosis is not None and run.diagnosis.scaling is not None:
            key = (_server(run) + (f" c={run.concurrency}" if sweeping else ""), run.diagnosis.scaling)
            largest = seen.get(key)
            if largest is None or run.workers > largest.workers:
                seen[key] = run
    lines = []
    for (name, _), run in seen.items():
        assert run.diagnosis is not None and run.diagnosis.scaling is not None
        scaling = run.diagnosis.scaling
        head = f"scaling {name}: " + (f"{scaling.verdict} " if scaling.verdict else "") + scaling.summary
        # The fit's own advice (a run's may be another verdict's); saved before it had one: the run's.
        advice = scaling.advice or run.diagnosis.advice
        lines.append(head if scaling.fit is None else f"{head}; what to do: {advice}")
    return lines


def knee_lines(runs: list[Run]) -> list[str]:
    """'knee gunicorn w4 direct: knee at 4 connections (...); Little's law N* = ...'."""
    seen: dict[str, str] = {}
    for run in runs:
        if run.diagnosis is not None and run.diagnosis.knee is not None:
            seen.setdefault(f"{run.kind} w{run.workers} {_server(run).split(' ', 1)[1]}", run.diagnosis.knee.summary)
    return [f"knee {name}: {summary}" for name, summary in seen.items()]


def profile_lines(runs: list[Run]) -> list[str]:
    """Per profiled run: the shares, the top functions of the project, what profiling cost, the flame graph."""
    lines = []
    for run in runs:
        if run.profile_note:
            lines.append(f"profile {run.label}: {run.profile_note}")
        profile, window = run.profile, run.profiled
        if profile is None or window is None:
            continue
        shares = ", ".join(
            f"{kind} {100 * share:.0f} %"
            for kind, share in sorted(profile.shares.items(), key=lambda i: -i[1])
            if share >= 0.005
        )
        if (hot := profile.hot) is not None:  # recorded since the project's functions are ranked by total
            # '`checks` view (views.py:12) 67 % total, 1 % self: ORM 31 %, templates 22 %; by total: ...'
            spent = ", ".join(f"{what} {pct:.0f} %" for what, pct in hot.spent if pct >= 0.5)
            top = (
                f"`{hot.function}`{' view' if hot.view else ''} ({Path(hot.file).name}:{hot.line})"
                f" {hot.total_pct:.0f} % total, {hot.self_pct:.0f} % self: {spent}; by total: "
            )
            top += "; ".join(
                f"{cost.function} ({Path(cost.file).name}:{cost.line}) {cost.total_pct:.0f} % total,"
                f" {cost.self_pct:.0f} % self"
                for cost in profile.top[:3]
            )
        else:  # a profile saved before: its top is by self time, and reads as it did
            top = "; ".join(
                f"{cost.function} ({Path(cost.file).name}:{cost.line}) {cost.self_pct:.0f} % self,"
                f" {cost.total_pct:.0f} % total"
                for cost in profile.top[:3]
                if cost.self_pct >= 1
            )
        if not top:  # the project's own code is not where the time goes: say where it goes
            top = "none of the project's functions; elsewhere: " + "; ".join(
                f"{cost.function} ({cost.kind}, {Path(cost.file).name}:{cost.line}) {cost.self_pct:.0f} % self"
                for cost in profile.elsewhere[:3]
            )
        measured = run.summary.rps.median
        ratio = f"{window.ok_per_s / measured:.2f}x the measured windows' r/s" if measured else "no measured r/s"
        profiler_us = window.cpu_us_per_request("profiler")
        cost = f"py-spy {profiler_us:,.0f} µs CPU per request, " if profiler_us is not None else ""
        threads = thread_shares_text(run.kind, profile.threads)
        lines.append(
            f"profile {run.label} ({profile.samples:,} samples, {profile.processes} serving process"
            f"{'es' if profile.processes != 1 else ''}): {shares};"
            f"{threads} top: {top}; profiled window {ratio} ({cost}one window);"
            f" flame graph: {profile.flamegraph}"
        )
    return lines


def trend_lines(runs: list[Run]) -> list[str]:
    """Every line of this module for the runs of one URL."""
    return scaling_lines(runs) + knee_lines(runs) + profile_lines(runs)
