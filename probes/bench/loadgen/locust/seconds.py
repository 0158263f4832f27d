"""The master's per-second lines (plugin.py prints them) turned into one window's LoadResult.

Pure: no locust, no process. The window is the whole seconds between the driver's markers, on the
master's clock, which the workers' are checked against (clock_problem).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..model import LoadResult, summary_of
from ..requests import RequestFigures

SECOND_LINE = "servebench-second "  # the plugin's (it cannot import this module: it runs inside locust)
OFFSET_LINE = "servebench-offset "
SPAWNED_LINE = "servebench-spawned "
WORKERS_LINE = "servebench-workers "
STOPPED_LINE = "servebench-stopped "
MAX_OFFSET_MS = 50.0  # a worker's clock this far from the master's puts its seconds in another window


@dataclass
class MasterLines:
    """What the master said so far: each second's merged figures, each worker's clock offset."""

    seconds: dict[int, dict[str, Any]] = field(default_factory=dict)
    offsets_ms: dict[str, float] = field(default_factory=dict)
    spawned_at: float | None = None
    stopped_at: float | None = None
    workers: int = 0  # connected to the master, as it last said

    def read(self, line: str) -> None:
        """Take one line of the master's stdout (anything else it prints is ignored)."""
        if line.startswith(SECOND_LINE):
            figures = json.loads(line[len(SECOND_LINE) :])
            self.seconds[int(figures["second"])] = figures
        elif line.startswith(OFFSET_LINE):
            offset = json.loads(line[len(OFFSET_LINE) :])
            self.offsets_ms[str(offset["worker"])] = float(offset["offset_ms"])
        elif line.startswith(SPAWNED_LINE):
            self.spawned_at = float(json.loads(line[len(SPAWNED_LINE) :])["at"])
        elif line.startswith(WORKERS_LINE):
            self.workers = int(json.loads(line[len(WORKERS_LINE) :])["ready"])
        elif line.startswith(STOPPED_LINE):
            self.stopped_at = float(json.loads(line[len(STOPPED_LINE) :])["at"])

    def forget_before(self, second: int) -> None:
        """The seconds of windows already measured: the master lives for the run, its lines need not."""
        for old in [s for s in self.seconds if s < second]:
            del self.seconds[old]

    @property
    def last_second(self) -> int:
        return max(self.seconds, default=-1)


def clock_problem(offsets_ms: dict[str, float]) -> str | None:
    """One line when a worker's clock is more than 50 ms from the master's (its seconds would be misplaced)."""
    for worker, offset in sorted(offsets_ms.items(), key=lambda item: -abs(item[1])):
        if abs(offset) > MAX_OFFSET_MS:
            return (
                f"locust worker {worker}: its clock is {offset:+.1f} ms from the master's (at most"
                f" ±{MAX_OFFSET_MS:.0f} ms): its seconds would fall in the wrong window; synchronise the clocks (NTP)"
            )
    return None


def _kind_of_status(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return "redirect"
    return "non2xx"


def window_result(
    lines: MasterLines, first: int, end: int, *, master_cpu_s: float | None, notes: tuple[str, ...] = ()
) -> LoadResult:
    """The seconds first <= s < end merged: counts by name and status, µs histograms, each worker's CPU."""
    from hdrh.histogram import HdrHistogram

    totals = HdrHistogram(1, 3_600_000_000, 3)
    by_name: dict[str, HdrHistogram] = {}
    statuses: dict[str, Counter[int]] = {}
    errors: Counter[str] = Counter()
    cpu: dict[str, list[float]] = {}
    for second in range(first, end):
        figures = lines.seconds.get(second, {})
        for name, encoded in figures.get("histograms", {}).items():
            histogram = HdrHistogram.decode(encoded.encode("ascii"))
            totals.add(histogram)
            by_name.setdefault(name, HdrHistogram(1, 3_600_000_000, 3)).add(histogram)
        for name, counts in figures.get("counts", {}).items():
            statuses.setdefault(name, Counter()).update({int(status): n for status, n in counts.items()})
        errors.update(figures.get("errors", {}))
        for worker, (user_s, system_s) in figures.get("cpu", {}).items():
            spent = cpu.setdefault(worker, [0.0, 0.0])
            spent[0] += user_s
            spent[1] += system_s
    answered: Counter[int] = Counter()
    for counts in statuses.values():
        answered.update({status: n for status, n in counts.items() if status})
    for status, n in answered.items():
        if (kind := _kind_of_status(status)) is not None:
            errors[kind] += n
    per_request = tuple(
        RequestFigures(
            label=name,
            weight=1,
            sent=sum(statuses[name].values()),
            responses=sum(n for status, n in statuses[name].items() if status),
            status_counts={status: n for status, n in statuses[name].items() if status},
            latency_ms=summary_of(by_name[name]) if name in by_name else {},
        )
        for name in sorted(statuses)
    )
    requests = sum(answered.values())
    return LoadResult(
        generator="locust",
        duration_s=float(end - first),
        requests=requests,
        ok=sum(n for status, n in answered.items() if 200 <= status < 300),
        errors=dict(errors),
        status_counts=dict(answered),
        redirect_location=None,
        latency_ms=summary_of(totals),
        bytes_received=0,
        cpu_user_s=round(sum(user for user, _ in cpu.values()), 6),
        cpu_system_s=round(sum(system for _, system in cpu.values()), 6),
        notes=notes,
        busiest_client_cpu_s=round(max((user + system for user, system in cpu.values()), default=0.0), 6),
        per_request=per_request if len(per_request) > 1 else (),
        histogram=totals.encode().decode("ascii") if totals.get_total_count() else None,
        master_cpu_s=master_cpu_s,
    )
