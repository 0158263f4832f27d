"""Memory of every process of a server tree (USS and PSS, not only RSS), read from /proc
(the figures and the fit across runs: model/memory.py).

memory_full_info reads each process's memory map: slow, so measure after a
load window, never during one.
"""

from __future__ import annotations

import psutil

from ..model.memory import ProcessMemory, TreeMemory
from .cpu import _GONE


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
    return TreeMemory(processes=(master, *(w for w in workers if w is not None)))
