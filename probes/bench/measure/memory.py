"""Memory of every process of a server tree (USS and PSS, not only RSS), and the
linear model total ≈ base + per_worker × workers fitted from it.

memory_full_info reads each process's memory map: slow, so measure after a
load window, never during one.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import psutil

from .cpu import _GONE, _Plain


@dataclass(frozen=True)
class ProcessMemory(_Plain):
    """Memory of one process of a tree: the root is the master, the rest workers."""

    pid: int
    ppid: int
    name: str
    cmdline: str
    role: str
    rss_bytes: int
    uss_bytes: int
    pss_bytes: int
    swap_bytes: int


@dataclass(frozen=True)
class TreeMemory(_Plain):
    """Memory of every process of a tree, as the tree was (launchers included)."""

    _derived = (
        "worker_count",
        "total_rss_bytes",
        "total_uss_bytes",
        "total_pss_bytes",
        "master_uss_bytes",
        "per_worker_uss_bytes",
        "per_worker_pss_bytes",
    )

    root_pid: int
    processes: tuple[ProcessMemory, ...]

    @property
    def workers(self) -> tuple[ProcessMemory, ...]:
        return tuple(p for p in self.processes if p.role == "worker")

    @property
    def worker_count(self) -> int:
        return len(self.workers)

    @property
    def total_rss_bytes(self) -> int:
        # RSS counts shared pages once per process: an overestimate, kept for comparison
        return sum(p.rss_bytes for p in self.processes)

    @property
    def total_uss_bytes(self) -> int:
        return sum(p.uss_bytes for p in self.processes)

    @property
    def total_pss_bytes(self) -> int:
        # PSS splits shared pages between their users: the tree's real footprint
        return sum(p.pss_bytes for p in self.processes)

    @property
    def master_uss_bytes(self) -> int:
        return sum(p.uss_bytes for p in self.processes if p.role == "master")

    @property
    def per_worker_uss_bytes(self) -> float | None:
        workers = self.workers
        return statistics.median(p.uss_bytes for p in workers) if workers else None

    @property
    def per_worker_pss_bytes(self) -> float | None:
        workers = self.workers
        return statistics.median(p.pss_bytes for p in workers) if workers else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeMemory:
        """Build from ``to_dict`` output."""
        names = [f.name for f in fields(ProcessMemory)]
        return cls(
            root_pid=data["root_pid"],
            processes=tuple(ProcessMemory(**{n: p[n] for n in names}) for p in data["processes"]),
        )


def _process_memory(proc: psutil.Process, *, role: str) -> ProcessMemory | None:
    try:
        with proc.oneshot():
            full = proc.memory_full_info()  # reads smaps: slow, so only after the window
            name, ppid = proc.name(), proc.ppid()
        try:
            cmdline = " ".join(" ".join(proc.cmdline()).split())  # one line, for tables
        except _GONE:
            cmdline = ""
    except _GONE:
        return None  # vanished mid-measure: normal
    if full.rss == 0:
        return None  # a zombie reads as all zeros: it holds no memory and is no worker
    return ProcessMemory(
        pid=proc.pid,
        ppid=ppid,
        name=name,
        cmdline=cmdline[:120],
        role=role,
        rss_bytes=full.rss,
        uss_bytes=full.uss,
        pss_bytes=full.pss,
        swap_bytes=full.swap,
    )


def measure_tree_memory(root_pid: int) -> TreeMemory:
    """Measure USS, PSS and RSS of a root process and of all its descendants."""
    try:
        root = psutil.Process(root_pid)
        descendants = root.children(recursive=True)
    except _GONE as exc:
        raise ProcessLookupError(f"no process {root_pid} to measure") from exc
    master = _process_memory(root, role="master")
    if master is None:
        raise ProcessLookupError(f"process {root_pid} exited while being measured")
    workers = (_process_memory(proc, role="worker") for proc in descendants)
    return TreeMemory(root_pid=root_pid, processes=(master, *(w for w in workers if w is not None)))


@dataclass(frozen=True)
class MemoryFit(_Plain):
    """Least-squares line total_bytes = base_bytes + per_worker_bytes * workers."""

    base_bytes: float
    per_worker_bytes: float
    r2: float
    points: tuple[tuple[int, float], ...]

    def predict_bytes(self, *, workers: int) -> float:
        """Return the fitted total for a worker count."""
        return self.base_bytes + self.per_worker_bytes * workers

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemoryFit:
        """Build from ``to_dict`` output."""
        return cls(
            base_bytes=data["base_bytes"],
            per_worker_bytes=data["per_worker_bytes"],
            r2=data["r2"],
            points=tuple((w, total) for w, total in data["points"]),
        )


def fit_memory(points: Sequence[tuple[int, float]]) -> MemoryFit | None:
    """Fit (workers, total_bytes) points; None with fewer than two distinct worker counts."""
    # one worker count cannot separate base from per-worker memory: no line, not a guess
    if len({w for w, _ in points}) < 2:
        return None
    n = len(points)
    mean_w = sum(w for w, _ in points) / n
    mean_t = sum(t for _, t in points) / n
    sxx = sum((w - mean_w) ** 2 for w, _ in points)
    sxy = sum((w - mean_w) * (t - mean_t) for w, t in points)
    slope = sxy / sxx
    base = mean_t - slope * mean_w
    ss_res = sum((t - base - slope * w) ** 2 for w, t in points)
    ss_tot = sum((t - mean_t) ** 2 for _, t in points)
    # a flat set of totals is fitted exactly by a flat line
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return MemoryFit(
        base_bytes=base,
        per_worker_bytes=slope,
        r2=r2,
        points=tuple((int(w), float(t)) for w, t in points),
    )
