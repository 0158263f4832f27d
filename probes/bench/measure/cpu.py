"""CPU counters per role sampled with psutil, and the types of a CPU window (memory: see memory.py).

`snapshot_cpu` reads every role's process tree and the machine's totals at one instant; how
the CPU between two snapshots is charged to each role is cpu_accounting.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import psutil

_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)

ProcessKey = tuple[int, float]


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


class _Plain:
    """Mixin: ``to_dict`` gives the fields, then derived properties readers want."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    _derived: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        names = [f.name for f in fields(self)] + list(self._derived)
        return {name: _plain(getattr(self, name)) for name in names}


@dataclass(frozen=True)
class ProcessCpu(_Plain):
    """Cumulative CPU counters of one process at one instant."""

    pid: int
    ppid: int
    create_time: float
    user_s: float
    system_s: float
    children_user_s: float
    children_system_s: float

    @property
    def key(self) -> ProcessKey:
        # create_time guards against a pid reused within the window
        return (self.pid, self.create_time)


@dataclass(frozen=True)
class RoleSnapshot(_Plain):
    """Processes of one role at one instant."""

    role: str
    root_pids: tuple[int, ...]
    processes: tuple[ProcessCpu, ...]


@dataclass(frozen=True)
class CpuSnapshot(_Plain):
    """Per-role process counters plus machine totals from /proc/stat."""

    monotonic_s: float
    roles: tuple[RoleSnapshot, ...]
    machine_busy_s: float
    machine_idle_s: float
    cores: int


@dataclass(frozen=True)
class RoleCpu(_Plain):
    """CPU seconds one role's process tree used during a window."""

    _derived = ("total_s",)

    role: str
    user_s: float
    system_s: float
    processes: int
    exited_processes: int = 0

    @property
    def total_s(self) -> float:
        return self.user_s + self.system_s

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleCpu:
        """Build from ``to_dict`` output."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class CpuWindow(_Plain):
    """CPU used per role and by the whole machine between two snapshots."""

    _derived = ("unexplained_s", "busy_fraction")

    wall_s: float
    roles: tuple[RoleCpu, ...]
    machine_busy_s: float
    machine_idle_s: float
    cores: int
    notes: tuple[str, ...] = ()

    def role(self, name: str) -> RoleCpu:
        """Return the named role's CPU."""
        return next(r for r in self.roles if r.role == name)

    @property
    def roles_total_s(self) -> float:
        return sum(r.total_s for r in self.roles)

    @property
    def unexplained_s(self) -> float:
        # busy CPU outside every role: other processes, kernel threads, interrupts
        return self.machine_busy_s - self.roles_total_s

    @property
    def busy_fraction(self) -> float:
        capacity_s = self.wall_s * self.cores
        return self.machine_busy_s / capacity_s if capacity_s > 0 else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CpuWindow:
        """Build from ``to_dict`` output."""
        return cls(
            wall_s=data["wall_s"],
            roles=tuple(RoleCpu.from_dict(r) for r in data["roles"]),
            machine_busy_s=data["machine_busy_s"],
            machine_idle_s=data["machine_idle_s"],
            cores=data["cores"],
            notes=tuple(data["notes"]),
        )


def read_machine_cpu() -> tuple[float, float, int]:
    """Return (busy_s, idle_s, cores) since boot from /proc/stat."""
    tick_s = 1.0 / os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as stat:
        lines = stat.read().splitlines()
    # user nice system idle iowait irq softirq steal; guest is already inside user
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in lines[0].split()[1:9])
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    busy = user + nice + system + irq + softirq + steal
    return busy * tick_s, (idle + iowait) * tick_s, cores


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info["ppid"]
        if ppid is not None:
            children.setdefault(ppid, []).append(proc.pid)
    return children


def _process_cpu(pid: int) -> ProcessCpu | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times = proc.cpu_times()
            return ProcessCpu(
                pid=pid,
                ppid=proc.ppid(),
                create_time=proc.create_time(),
                user_s=times.user,
                system_s=times.system,
                children_user_s=times.children_user,
                children_system_s=times.children_system,
            )
    except _GONE:
        return None  # vanished mid-snapshot: normal


def snapshot_cpu(roles: Mapping[str, Sequence[int]]) -> CpuSnapshot:
    """Sample CPU counters of every role's process tree and of the machine."""
    owner: dict[int, str] = {}
    for role, pids in roles.items():
        for pid in pids:
            if owner.setdefault(pid, role) != role:
                raise ValueError(f"pid {pid} is a root of both {owner[pid]!r} and {role!r}")
    children = _children_map()
    snapshots = []
    for role, pids in roles.items():
        members: list[int] = []
        pending = list(dict.fromkeys(pids))
        while pending:
            pid = pending.pop()
            members.append(pid)
            # a descendant that is another role's root takes its subtree with it
            pending.extend(c for c in children.get(pid, ()) if c not in owner)
        sampled = (_process_cpu(pid) for pid in members)
        processes = tuple(p for p in sampled if p is not None)
        snapshots.append(RoleSnapshot(role=role, root_pids=tuple(pids), processes=processes))
    busy_s, idle_s, cores = read_machine_cpu()
    return CpuSnapshot(
        monotonic_s=time.monotonic(),
        roles=tuple(snapshots),
        machine_busy_s=busy_s,
        machine_idle_s=idle_s,
        cores=cores,
    )
