"""What /proc says of the processes: their parent, group, session, state and start time, and whose they are."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

# Every process a supervisor starts carries OWNER_ENV=<supervisor token>.<child number>.
OWNER_ENV = "SERVEBENCH_OWNER"


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start_ticks: int = 0  # since boot, in clock ticks: with the pid, names one process for good


def _proc_info(pid: int) -> ProcInfo | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may contain spaces and parentheses: split after the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(pid, int(fields[1]), int(fields[2]), int(fields[3]), fields[0], int(fields[19]))


def all_processes() -> list[ProcInfo]:
    """Every process visible in /proc, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _proc_info(int(entry))) is not None:
            found.append(info)
    return found


def session_members(sid: int) -> list[ProcInfo]:
    """Every process (zombies included) whose session id is `sid`."""
    return [info for info in all_processes() if info.sid == sid]


def owner_marker(pid: int) -> str | None:
    """The OWNER_ENV value in a process's environment; None if absent or unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:
        return None
    prefix = f"{OWNER_ENV}=".encode()
    for item in environ.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def descendants(processes: Iterable[ProcInfo], roots: Iterable[int]) -> list[ProcInfo]:
    """The roots and every process whose parent chain leads to one of them."""
    by_parent: dict[int, list[ProcInfo]] = {}
    by_pid: dict[int, ProcInfo] = {}
    for info in processes:
        by_parent.setdefault(info.ppid, []).append(info)
        by_pid[info.pid] = info
    found: dict[int, ProcInfo] = {}
    stack = [pid for pid in roots if pid in by_pid]
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found[pid] = by_pid[pid]
        stack.extend(child.pid for child in by_parent.get(pid, ()))
    return list(found.values())
