"""The CPU each role used between two snapshots (cpu.py takes them).

``cpu_between`` counts, per role:
- processes alive at both ends: delta of own user/system and of children_* counters;
- processes born in the window and alive at its end: all their CPU (own + reaped children);
- processes that exited in the window: the kernel adds a reaped child's whole CPU to its
  parent's children_* counters, so it arrives through the nearest ancestor still alive
  (the "collector"); the exited process's pre-window CPU, known from the start snapshot,
  is subtracted there so only in-window CPU remains.
A pid belongs to one role: a descendant that is another role's root takes its subtree
there (the most specific root wins). Take the end snapshot before stopping or reaping any
role's root.
Known approximations, recorded in ``CpuWindow.notes`` where detectable:
- an exited process with no ancestor (as seen at the start) alive at the end is lost;
- an exited process reaped by a process of another role (e.g. a load generator reaped by
  servebench) is counted in the reaper's role: the kernel only gives the reaper a sum;
- an exited process orphaned before it died (reparented to init or a subreaper) took its
  CPU outside the roles, yet its pre-window CPU is still subtracted: the role is
  undercounted (a negative total is clamped to 0 and noted); likewise a process born and
  dead inside the window whose parent died first is lost, silently;
- an unreaped zombie is still listed and counted by its own times, which is exact;
- snapshots are not atomic: CPU spent while one walks /proc blurs the edges (a few ms),
  and counters have clock-tick (usually 10 ms) resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .cpu import CpuSnapshot, CpuWindow, ProcessCpu, ProcessKey, RoleCpu


def cpu_between(start: CpuSnapshot, end: CpuSnapshot) -> CpuWindow:
    """Return the CPU each role used between two snapshots of the same roles."""
    before = {p.key: (r.role, p) for r in start.roles for p in r.processes}
    after = {p.key: (r.role, p) for r in end.roles for p in r.processes}
    tally = _Tally.of(dict.fromkeys(r.role for r in (*start.roles, *end.roles)))
    for key, (role, now) in after.items():
        tally.seen[role].add(key)
        tally.add(role, now)
        if key in before:
            tally.add(role, before[key][1], -1.0)
    notes = _charge_exited(tally, before=before, after=after)
    for name in tally.user_s:
        # a hair below zero is float rounding; more means an exited process was orphaned
        # (reaped outside the role) while its pre-window CPU was subtracted here
        if tally.user_s[name] + tally.system_s[name] < -0.05:
            notes.append(
                f"role {name!r}: {tally.user_s[name] + tally.system_s[name]:.3f} s clamped to 0;"
                " an exited process was probably reaped outside the role"
            )
    roles = tuple(
        RoleCpu(
            role=name,
            user_s=max(0.0, tally.user_s[name]),
            system_s=max(0.0, tally.system_s[name]),
            processes=len(tally.seen[name]),
            exited_processes=tally.exited[name],
        )
        for name in tally.user_s
    )
    return CpuWindow(
        wall_s=end.monotonic_s - start.monotonic_s,
        roles=roles,
        machine_busy_s=end.machine_busy_s - start.machine_busy_s,
        machine_idle_s=end.machine_idle_s - start.machine_idle_s,
        cores=end.cores,
        notes=tuple(notes),
    )


@dataclass
class _Tally:
    """The running CPU seconds, processes and exits of each role while a window is counted."""

    user_s: dict[str, float]
    system_s: dict[str, float]
    seen: dict[str, set[ProcessKey]]
    exited: dict[str, int]

    @classmethod
    def of(cls, names: Iterable[str]) -> _Tally:
        names = list(names)
        return cls(
            dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0), {n: set() for n in names}, dict.fromkeys(names, 0)
        )

    def add(self, role: str, process: ProcessCpu, sign: float = 1.0) -> None:
        """Add (or, with sign -1, take away) a process's own and reaped children's CPU."""
        self.user_s[role] += sign * (process.user_s + process.children_user_s)
        self.system_s[role] += sign * (process.system_s + process.children_system_s)


def _charge_exited(
    tally: _Tally,
    *,
    before: Mapping[ProcessKey, tuple[str, ProcessCpu]],
    after: Mapping[ProcessKey, tuple[str, ProcessCpu]],
) -> list[str]:
    """Count each process that exited in the window, where its CPU arrived; the notes on what was lost."""
    by_pid = {p.pid: key for key, (_, p) in before.items()}
    notes: list[str] = []
    for key, (role, was) in before.items():
        if key in after:
            continue
        tally.seen[role].add(key)
        tally.exited[role] += 1
        collector = _collector(key, before=before, after=after, by_pid=by_pid)
        if collector is None:
            notes.append(
                f"role {role!r}: pid {was.pid} exited with no ancestor alive in any role;"
                " its in-window CPU is not counted"
            )
            continue
        # its whole CPU reached the collector's children counters: drop the pre-window part
        into = after[collector][0]
        tally.add(into, was, -1.0)
        if into != role:
            notes.append(
                f"role {role!r}: pid {was.pid} exited and was reaped in role {into!r};"
                f" its in-window CPU is counted in {into!r}"
            )
    return notes


def _collector(
    key: ProcessKey,
    *,
    before: Mapping[ProcessKey, tuple[str, ProcessCpu]],
    after: Mapping[ProcessKey, tuple[str, ProcessCpu]],
    by_pid: Mapping[int, ProcessKey],
) -> ProcessKey | None:
    """Return the nearest start-time ancestor alive at the end, if any was sampled."""
    seen = {key}
    ppid = before[key][1].ppid
    while ppid in by_pid and by_pid[ppid] not in seen:
        parent = by_pid[ppid]
        if parent in after:
            return parent
        # an exited parent passed what it had reaped on to its own parent
        seen.add(parent)
        ppid = before[parent][1].ppid
    return None
