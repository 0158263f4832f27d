"""How each configuration of a sweep is loaded (LoadPlan), and which generator loads it by default.

A description only: the cli builds it before anything starts; measure/sweep.py runs it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace

from ..servers.argv import SYSTEM_PATH
from ..servers.kinds import ServerConfig
from .requests import Request


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
    # What is sent: one request (--method, --data/--body, --content-type), sent to `path` whichever path it
    # was parsed with (a sweep of several targets sends each the same way), or a weighted mix (--urls).
    # Empty: a GET of path.
    requests: tuple[Request, ...] = ()

    @property
    def sent(self) -> Request | None:
        """The one request the load sends, what t0 calls in-process; None for a mix (no one view to call)."""
        if len(self.requests) > 1:
            return None
        return replace(self.requests[0], path=self.path) if self.requests else Request(self.path)

    @property
    def mix(self) -> tuple[Request, ...]:
        """What each window sends, as a LoadSpec's `requests`: the one request to path, or the mix."""
        sent = self.sent
        return (sent,) if sent is not None else self.requests

    def concurrency_for(self, config: ServerConfig) -> int:
        return self.concurrency or max(8, 2 * config.workers * config.threads)

    def seconds_per_config(self) -> float:
        """A rough estimate for progress lines: start, warm-up, windows, memory, stop."""
        return 3.0 + self.warmup_s + (self.repeat + self.profile) * (self.duration_s + 0.3)


def default_generator() -> str:
    """wrk when installed (the built-in client trails it by up to 25 % on connection-per-request
    servers, benchmarks/loadgen_vs_wrk.py), else the built-in one."""
    return "wrk" if shutil.which("wrk", path=SYSTEM_PATH) else "builtin"
