"""Load generation: the built-in client and adapters for wrk and ab, each run in a child process.

load = start_load(LoadSpec(path="/probes/trivial/", port=8000), generator="builtin")
...  # sample psutil.Process(load.pid) while it runs
result = load.wait()
"""

from __future__ import annotations

from .dispatch import run_in_process
from .model import ERROR_KINDS, GENERATORS, LoadgenError, LoadgenUnavailable, LoadResult, LoadSpec, latency_summary_ms
from .process import LoadProcess, deadline_s, run_load, start_load

__all__ = [
    "ERROR_KINDS",
    "GENERATORS",
    "LoadProcess",
    "LoadResult",
    "LoadSpec",
    "LoadgenError",
    "LoadgenUnavailable",
    "deadline_s",
    "latency_summary_ms",
    "run_in_process",
    "run_load",
    "start_load",
]
