"""How each configuration of a sweep is loaded (LoadPlan), and which generator loads it by default.

A description only: the cli builds it before anything starts; measure/sweep.py runs it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from ..servers.argv import SYSTEM_PATH
from ..servers.kinds import ServerConfig
from .hosts import Remote


@dataclass(frozen=True)
class LoadPlan:
    """How each configuration is loaded."""

    path: str
    host_header: str
    generator: str = "builtin"
    concurrency: int | None = None  # None: above the worker count (2 x workers x threads, at least 8)
    duration_s: float = 2.0
    warmup_s: float = 1.0
    repeat: int = 3
    keepalive: bool = True
    rate: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    max_requests: int = 1_000_000
    timeout_s: float = 10.0
    pin: bool = False  # the load generator on the last core, servers and nginx on the others
    instrument_s_per_request: float | None = None  # the timing wrapper's own CPU, measured in-process
    timing: bool = True  # the servers run the timing wrapper (False: --no-timing, the plain app)
    profile: bool = False  # one more window per configuration with py-spy attached (--profile)
    remote: Remote | None = None  # the load from client hosts (--client-netns, --client-host); None: this host

    def concurrency_for(self, config: ServerConfig) -> int:
        return self.concurrency or max(8, 2 * config.workers * config.threads)

    def seconds_per_config(self) -> float:
        """A rough estimate for progress lines: start, warm-up, windows, memory, stop."""
        return 3.0 + self.warmup_s + (self.repeat + self.profile) * (self.duration_s + 0.3)


def default_generator() -> str:
    """wrk when installed (the built-in client trails it by up to 25 % on connection-per-request
    servers, benchmarks/loadgen_vs_wrk.py), else the built-in one."""
    return "wrk" if shutil.which("wrk", path=SYSTEM_PATH) else "builtin"
