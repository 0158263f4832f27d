"""The reader: what servebench reads of the servers' counters files at a window's edges.

A snapshot of every process's counters (`read_counters`), the difference of
two (`difference`) and their sum (`total`); the run-queue wait, read from
outside; the exceptions the processes recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..model.tracebacks import ExceptionSeen
from .layout import (
    EXCEPTIONS_SUFFIX,
    FIELD_NAMES,
    ITEM_BYTES,
    ITEM_FORMAT,
    NAME_BYTES,
    NAME_COUNTS_INDEX,
    NAME_SLOTS,
    NAME_TEXT_OFFSET,
    RECORD_BYTES,
    STATS_SUFFIX,
)


@dataclass(frozen=True)
class AppCounters:
    """Cumulative figures of one server process (ns are nanoseconds): a field per layout.Slot, and the run queue."""

    requests: int = 0
    sampled_requests: int = 0  # requests whose wall, CPU and queue time were measured
    sampled_wall_ns: int = 0
    sampled_cpu_ns: int = 0  # thread CPU
    queue_ns: int = 0  # of the sampled requests that carried nginx's X-Request-Start
    queued_requests: int = 0  # how many those were
    db_ns: int = 0  # every query
    db_queries: int = 0
    exceptions: int = 0  # raised by the app or handled by Django as a 500 (got_request_exception)
    server_errors: int = 0  # 5xx answered by the app
    # ASGI: how late the event loop ran a periodic tick, summed, and how many ticks (probes.bench.timing.asgi)
    loop_lag_ns: int = 0
    loop_ticks: int = 0
    # ASGI, over the sampled requests counted (timing.crossings): asgiref's crossings, threads started
    crossings: int = 0
    new_threads: int = 0
    counted_requests: int = 0
    app_runq_ns: int = 0  # the serving processes' run-queue wait, read from outside (run_queue_ns)
    crossed: dict[str, int] = field(default_factory=dict)  # what crossed, by name (the bounded table)

    @property
    def app_wall_ns(self) -> int:
        """The app's wall time over all requests, estimated from the sampled ones (0: none sampled)."""
        return self._estimated(self.sampled_wall_ns)

    @property
    def app_cpu_ns(self) -> int:
        """The app's thread CPU over all requests, estimated from the sampled ones (0: none sampled)."""
        return self._estimated(self.sampled_cpu_ns)

    def _estimated(self, sampled_ns: int) -> int:
        return round(sampled_ns * self.requests / self.sampled_requests) if self.sampled_requests else 0

    def minus(self, earlier: AppCounters) -> AppCounters:
        """What happened between `earlier` and this snapshot."""
        counts = {f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self) if f.name != "crossed"}
        crossed = {name: n - earlier.crossed.get(name, 0) for name, n in self.crossed.items()}
        return AppCounters(**counts, crossed={name: n for name, n in crossed.items() if n})

    def plus(self, other: AppCounters) -> AppCounters:
        """The two processes' figures summed."""
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "crossed"}
        crossed = dict(self.crossed)
        for name, n in other.crossed.items():
            crossed[name] = crossed.get(name, 0) + n
        return AppCounters(**counts, crossed=crossed)


def _crossed(raw: bytes) -> dict[str, int]:
    """The table of what crossed (layout.NAME_SLOTS): name -> cumulative count, the slots in use."""
    if len(raw) < NAME_TEXT_OFFSET + NAME_SLOTS * NAME_BYTES:
        return {}
    start = NAME_COUNTS_INDEX * ITEM_BYTES
    counts = memoryview(raw[start : start + NAME_SLOTS * ITEM_BYTES]).cast(ITEM_FORMAT)
    found = {}
    for slot in range(NAME_SLOTS):
        text = raw[NAME_TEXT_OFFSET + slot * NAME_BYTES : NAME_TEXT_OFFSET + (slot + 1) * NAME_BYTES]
        name = text.rstrip(b"\0").decode(errors="replace")
        if name and counts[slot]:
            found[name] = counts[slot]
    return found


def read_counters(stats_dir: Path) -> dict[int, AppCounters]:
    """Every process's counters in stats_dir, by pid: a snapshot."""
    found = {}
    for path in stats_dir.glob(f"*{STATS_SUFFIX}"):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue
        if len(raw) >= RECORD_BYTES:
            values = memoryview(raw[:RECORD_BYTES]).cast(ITEM_FORMAT)
            counts = dict(zip(FIELD_NAMES, values, strict=True))
            found[int(path.stem)] = AppCounters(**counts, crossed=_crossed(raw))
    return found


def difference(start: dict[int, AppCounters], end: dict[int, AppCounters]) -> dict[int, AppCounters]:
    """Per process, what happened between two read_counters() snapshots."""
    return {pid: counters.minus(start.get(pid, AppCounters())) for pid, counters in end.items()}


def total(per_process: dict[int, AppCounters]) -> AppCounters:
    """Every process's figures summed."""
    result = AppCounters()
    for counters in per_process.values():
        result = result.plus(counters)
    return result


def run_queue_ns(pids: Iterable[int]) -> dict[int, int]:
    """Per process, its live threads' total time waiting on a run queue (/proc/PID/task/*/schedstat).

    Read from outside at a window's edges: the servers pay nothing for it. A
    thread that exits within the window takes its share with it (flup's
    threaded pool retires threads); processes are read whole.
    """
    found = {}
    for pid in pids:
        waited = 0
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as handle:
                    waited += int(handle.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        found[pid] = waited
    return found


def read_exceptions(stats_dir: Path) -> list[ExceptionSeen]:
    """The distinct exceptions the servers' processes recorded, most frequent first."""
    merged: dict[tuple[str, str, str], int] = {}
    for path in stats_dir.glob(f"*{EXCEPTIONS_SUFFIX}"):
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for row in rows:
            key = (row["type"], row["message"], row["where"])
            merged[key] = merged.get(key, 0) + row["count"]
    seen = [ExceptionSeen(type_, message, where, count) for (type_, message, where), count in merged.items()]
    return sorted(seen, key=lambda item: -item.count)
