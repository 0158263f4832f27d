"""What an earlier servebench left when it was killed: its processes and its run directory.

A supervisor records itself and each child (pid and start time) in its run
directory (supervisor.RECORD_NAME), and every process it starts carries its
token in the environment. A run directory whose supervisor is gone is an
orphan: `reclaim_orphans` stops what is still running of it and removes it.

Only what servebench started is ever signalled: a recorded pid only while its
start time is still the recorded one (pids are reused), and otherwise only
processes that carry the dead supervisor's token. Only run directories of this
user (owned by us, 0700, not a link) are read: another user cannot plant a
record that makes servebench signal someone else's process.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .child import POLL_S
from .procfs import ProcInfo, _proc_info, all_processes, descendants, owner_marker
from .signals import signal_if_same
from .supervisor import RECORD_NAME, SHORT_DIR_PARENT

RUN_DIR_PREFIX = "servebench-"


@dataclass(frozen=True)
class Record:
    """One orphan candidate: a run directory and what its supervisor wrote."""

    run_dir: Path
    supervisor_pid: int
    supervisor_start: int
    token: str
    children: tuple[tuple[int, int, str], ...]  # (pid, start ticks, name)
    stopped: bool = False  # the supervisor stopped every child: nothing to reclaim (logs kept on purpose)

    def supervisor_alive(self) -> bool:
        info = _proc_info(self.supervisor_pid)
        return info is not None and info.start_ticks == self.supervisor_start and info.state != "Z"


def _private_dir(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def read_record(run_dir: Path) -> Record | None:
    """The record of a run directory of ours, or None (none, not ours, unreadable, malformed)."""
    if not _private_dir(run_dir):
        return None
    try:
        fd = os.open(run_dir / RECORD_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8", errors="replace") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        lines = [line.split(maxsplit=3) for line in file.read().splitlines()]
    try:
        kind, pid, start, token = lines[0]
        if kind != "supervisor":
            return None
        children = tuple((int(p), int(t), n) for k, p, t, n in (line for line in lines[1:] if len(line) == 4))
        stopped = ["stopped"] in lines
        return Record(run_dir, int(pid), int(start), token, children, stopped)
    except (IndexError, ValueError):
        return None


def orphaned_processes(record: Record) -> list[ProcInfo]:
    """Live processes the dead supervisor started: recorded ones still the same process, marked ones, their trees."""
    processes = all_processes()
    by_pid = {info.pid: info for info in processes}
    roots = {pid for pid, start, _ in record.children if pid in by_pid and by_pid[pid].start_ticks == start}
    prefix = f"{record.token}."
    for info in processes:
        if info.pid not in roots and info.pid != os.getpid():
            marker = owner_marker(info.pid)
            if marker is not None and marker.startswith(prefix):
                roots.add(info.pid)
    return [info for info in descendants(processes, roots) if info.state != "Z"]


def _still_same(info: ProcInfo) -> bool:
    now = _proc_info(info.pid)
    return now is not None and now.start_ticks == info.start_ticks and now.state != "Z"


def _signal(processes: list[ProcInfo], sig: int) -> None:
    for info in processes:
        if info.state != "Z":  # checked again as it is signalled (a pidfd): the pid may have been reused
            signal_if_same(info.pid, info.start_ticks, sig)


def _wait_gone(processes: list[ProcInfo], timeout_s: float) -> list[ProcInfo]:
    deadline = time.monotonic() + timeout_s
    while True:
        left = [info for info in processes if _still_same(info)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(POLL_S)


def stop_processes(processes: list[ProcInfo], *, timeout_s: float = 5.0) -> list[ProcInfo]:
    """TERM, wait, KILL what is left, wait; the ones that still did not go."""
    _signal(processes, signal.SIGTERM)
    left = _wait_gone(processes, timeout_s)
    if left:
        _signal(left, signal.SIGKILL)
        left = _wait_gone(left, timeout_s)
    return left


def _describe(processes: list[ProcInfo], record: Record) -> str:
    names = {pid: name for pid, _, name in record.children}
    parts = [f"{names[info.pid]} (pid {info.pid})" if info.pid in names else f"pid {info.pid}" for info in processes]
    return ", ".join(parts[:8]) + (f" and {len(parts) - 8} more" if len(parts) > 8 else "")


def reclaim_orphans(parent: Path | None = None, *, timeout_s: float = 5.0) -> list[str]:
    """Stop the processes and remove the run directories that earlier, killed runs left; one message each.

    `parent` is where run directories are made (the temporary directory by default).
    Run directories of live servebench processes are left alone.
    """
    parent = Path(parent or tempfile.gettempdir())
    messages = []
    try:
        candidates = sorted(parent.glob(f"{RUN_DIR_PREFIX}*"))
    except OSError:
        return []
    for run_dir in candidates:
        record = read_record(run_dir)
        if record is None or record.stopped or record.supervisor_alive():
            continue
        orphans = orphaned_processes(record)
        left = stop_processes(orphans, timeout_s=timeout_s) if orphans else []
        who = f"an earlier servebench run (pid {record.supervisor_pid}, killed)"
        if orphans:
            messages.append(f"stopped {len(orphans)} process(es) {who} left running: {_describe(orphans, record)}")
        if left:
            messages.append(f"could not stop {_describe(left, record)}; kept {run_dir} for its logs")
            continue
        # A throwaway PostgreSQL keeps its files next to the run directory (postgres.start_postgres),
        # or in /tmp, as do the sockets of a run directory too deep for them (Supervisor.socket_path).
        for where in dict.fromkeys((parent, Path(SHORT_DIR_PARENT))):
            for extra in where.glob(f"{run_dir.name}-*"):
                if extra.is_dir() and not extra.is_symlink():
                    shutil.rmtree(extra, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        messages.append(f"removed the run directory {run_dir} {who} left behind")
    return messages
