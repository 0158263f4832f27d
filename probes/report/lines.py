"""The figures of one run and of the whole suite, typed, shared by the Markdown, CSV and HTML reports."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..bench.measure.memory import MemoryFit, fit_memory
from ..bench.model.results import Run, Suite
from ..bench.model.stats import Spread

# CPU roles in the order the reports show them (a role no sample measured is left out). "server" is
# the server's own CPU and "view" the app's, measured inside the server's processes by the timing wrapper.
ROLES = ("client", "nginx", "server", "view", "instrument", "memcached", "database", "servebench")
PERCENTILES = ("p50", "p90", "p99")


@dataclass(frozen=True)
class RunFigures:
    """One configuration's figures: medians over its repeats, memory in bytes, CPU in µs per request."""

    run: Run
    rps: Spread
    latency_ms: dict[str, float]  # p50, p90, p99: medians over the repeats
    errors: int
    uss_per_worker_bytes: float | None
    total_pss_bytes: int | None
    cpu_us_per_request: dict[str, float]  # by role, in ROLES order

    @property
    def name(self) -> str:
        """'gunicorn 4 nginx/tcp': what a chart's axis calls the configuration."""
        threads = f"x{self.run.threads}" if self.run.threads > 1 else ""
        null = " null" if self.run.app == "null" else ""
        return f"{self.run.kind}{null} {self.run.workers}{threads} {front_label(self.run)}"


def front_label(run: Run) -> str:
    """'direct' or 'nginx/tcp': the front as every report names it."""
    return "direct" if run.front == "direct" else f"nginx/{run.socket}"


def run_figures(run: Run) -> RunFigures:
    """The figures of one run (zeros and None where it has no samples or no memory)."""
    samples = run.samples
    worker_uss = [float(p["uss_bytes"]) for p in run.workers_memory]
    cpu = {}
    for role in ROLES:
        values = [v for s in samples if (v := s.cpu_us_per_request(role)) is not None]
        if values:
            cpu[role] = Spread.of(values).median
    split = run.diagnosis.figures.cpu_per_request_s if run.diagnosis is not None else {}
    if "view" in split:  # the server's processes' CPU, split into the view's and the server's own
        cpu["view"], cpu["server"] = 1e6 * split["view"], 1e6 * split.get("server", 0.0)
    cpu = {role: cpu[role] for role in ROLES if role in cpu}
    return RunFigures(
        run=run,
        rps=Spread.of([s.ok_per_s for s in samples]),
        latency_ms={p: Spread.of([s.latency_ms.get(p, 0.0) for s in samples]).median for p in PERCENTILES},
        errors=sum(s.requests - s.ok for s in samples),
        uss_per_worker_bytes=Spread.of(worker_uss).median if worker_uss else None,
        total_pss_bytes=run.total_pss_bytes if run.memory else None,
        cpu_us_per_request=cpu,
    )


@dataclass(frozen=True)
class MemorySeries:
    """Total PSS against workers for one server kind and front, with its fitted line when there is one."""

    name: str
    points: tuple[tuple[int, float], ...]  # (workers, total PSS bytes)
    fit: MemoryFit | None


def memory_series(suite: Suite) -> list[MemorySeries]:
    """One series per (kind, app, front) that has per-worker memory (as text.memory_models groups them)."""
    groups: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for run in suite.runs:
        if run.memory and run.workers_memory:
            groups.setdefault((run.kind, run.app, run.front), []).append((run.workers, float(run.total_pss_bytes)))
    return [
        MemorySeries(
            name=kind + (" (null app)" if app == "null" else "") + f" [{front}]",
            points=tuple(sorted(points)),
            fit=fit_memory(points),
        )
        for (kind, app, front), points in groups.items()
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
