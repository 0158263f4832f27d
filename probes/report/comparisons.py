"""Which runs of one suite are compared (probe pairs, server kinds, the null app's floor), as lines."""

from __future__ import annotations

from ..bench.model.results import Run, Suite
from ..bench.servers.kinds import baseline_kind
from .lines import target_paths

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


def _probe_pairs(usable: list[Run], name_of: dict[str, str]) -> list[str]:
    """Two probes under the same configuration: the known pairs, else the only two there are."""
    from .terminal import ratio_line  # the A-vs-B rule's line; the terminal module imports this one

    lines = []
    by_config: dict[tuple[object, ...], dict[str, Run]] = {}
    for run in usable:
        by_config.setdefault(_config_key(run), {})[name_of.get(run.path, run.path)] = run
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
    return lines


def _server_pairs(usable: list[Run], name_of: dict[str, str], paths: list[str]) -> list[str]:
    """Each server kind against gunicorn (else the first kind) on the same URL and configuration."""
    from .terminal import ratio_line  # the A-vs-B rule's line; the terminal module imports this one

    lines = []
    for path in paths:
        groups: dict[tuple[object, ...], list[Run]] = {}
        for run in usable:
            if run.path == path and run.app == "project":
                groups.setdefault((run.workers, run.threads, run.front, run.socket, run.concurrency), []).append(run)
        for runs_here in groups.values():
            baseline = next((run for run in runs_here if run.kind == baseline_kind()), runs_here[0])
            for run in runs_here:
                if run is not baseline:
                    line = ratio_line(
                        run.kind, run, baseline.kind, baseline, f"{name_of.get(path, path)}, {_where(run)}"
                    )
                    if line:
                        lines.append(line)
    return lines


def _floor_lines(usable: list[Run], name_of: dict[str, str]) -> list[str]:
    """The project's app as a share of the null app's r/s under the same configuration (the server's floor)."""
    lines = []
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
            app_rate, floor_rate = run.summary.rps.median, floor.summary.rps.median
            lines.append(
                f"{run.kind}, {_where(run)}: {name_of.get(run.path, run.path)} runs at"
                f" {100 * app_rate / floor_rate:.0f} % of the null app's {floor_rate:,.0f} r/s (the server's floor)"
            )
    return lines


def comparisons(suite: Suite) -> list[str]:
    """Comparison lines wherever the sweep measured both sides (an A/B's two sides: its pairs say it)."""
    if suite.against is not None:
        return []
    name_of = {cost.path: cost.name for cost in suite.view_costs}
    usable = [run for run in suite.runs if run.samples and run.quality != "failing"]
    return (
        _probe_pairs(usable, name_of)
        + _server_pairs(usable, name_of, target_paths(suite))
        + _floor_lines(usable, name_of)
    )
