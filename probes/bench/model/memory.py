"""Memory of a server's process tree (USS and PSS, not only RSS), and the linear model
total ≈ base + per_worker × workers fitted across the runs of one server kind.

measure/memory.py reads these figures from /proc; this module only holds and derives them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import Run


@dataclass(frozen=True)
class ProcessMemory:
    """Memory of one process of a tree: the root is the master, the rest workers."""

    pid: int = 0
    ppid: int = 0
    name: str = ""
    cmdline: str = ""
    role: str = ""  # "master" or "worker"
    rss_bytes: int = 0
    uss_bytes: int = 0
    pss_bytes: int = 0
    swap_bytes: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessMemory:
        """From one process of a Run's "memory" in the JSON (unknown keys ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class TreeMemory:
    """Memory of every process of a tree, as the tree was (launchers included); the master first."""

    processes: tuple[ProcessMemory, ...] = ()

    # Derived figures to_dict adds after the fields, for readers of the JSON.
    _DERIVED = (
        "root_pid",
        "worker_count",
        "total_rss_bytes",
        "total_uss_bytes",
        "total_pss_bytes",
        "master_uss_bytes",
        "per_worker_uss_bytes",
        "per_worker_pss_bytes",
    )

    @property
    def measured(self) -> bool:
        """False when nothing was read (a run that never came up, or an older result without memory)."""
        return bool(self.processes)

    @property
    def root_pid(self) -> int | None:
        return self.processes[0].pid if self.processes else None

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
        return sum(int(p.pss_bytes) for p in self.processes)

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

    def to_list(self) -> list[dict[str, Any]]:
        """The processes as a Run keeps them in the JSON ("memory", "nginx_memory")."""
        return [asdict(p) for p in self.processes]

    @classmethod
    def from_list(cls, data: Sequence[Mapping[str, Any]]) -> TreeMemory:
        """From a Run's "memory" or "nginx_memory" in the JSON."""
        return cls(processes=tuple(ProcessMemory.from_dict(p) for p in data))

    def to_dict(self) -> dict[str, Any]:
        """The processes, then the derived figures."""
        return {"processes": self.to_list(), **{name: getattr(self, name) for name in self._DERIVED}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeMemory:
        """Build from ``to_dict`` output."""
        return cls.from_list(data["processes"])


@dataclass(frozen=True)
class MemoryFit:
    """Least-squares line total_bytes = base_bytes + per_worker_bytes * workers."""

    base_bytes: float
    per_worker_bytes: float
    r2: float
    points: tuple[tuple[int, float], ...]

    def predict_bytes(self, *, workers: int) -> float:
        """Return the fitted total for a worker count."""
        return self.base_bytes + self.per_worker_bytes * workers

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {**asdict(self), "points": [list(point) for point in self.points]}

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


@dataclass(frozen=True)
class MemoryModel:
    """Total PSS against workers for one server kind, app and front, with its fitted line when there is one."""

    kind: str
    app: str  # "project" or "null"
    front: str
    points: tuple[tuple[int, float], ...]  # (workers, total PSS bytes), by workers
    fit: MemoryFit | None


def memory_models(runs: Sequence[Run]) -> tuple[MemoryModel, ...]:
    """One model per (kind, app, front) whose runs measured per-worker memory, in the order the runs came."""
    groups: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for run in runs:
        if run.memory.workers:
            groups.setdefault((run.kind, run.app, run.front), []).append(
                (run.workers, float(run.memory.total_pss_bytes))
            )
    return tuple(
        MemoryModel(kind, app, front, tuple(sorted(points)), fit_memory(points))
        for (kind, app, front), points in groups.items()
    )
