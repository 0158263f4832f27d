"""How each configuration of a sweep is loaded (LoadPlan), and which generator loads it by default.

A description only: the cli builds it before anything starts; measure/sweep.py runs it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace

from ..servers.argv import SYSTEM_PATH
from ..servers.kinds import ServerConfig
from .hosts import Remote
from .locust.setup import LocustSetup
from .requests import Request

# A window is sized by requests, not seconds (pyperf calibrates its loops likewise): the C requests in
# flight at its edges weigh at most 1/25 of what it counts, and 200 is the least for a stable median.
MIN_WINDOW_REQUESTS = 200
REQUESTS_PER_CONNECTION = 25
WINDOW_CAP_FACTOR = 10.0  # without max_window_s, a window (and the warm-up) lasts at most 10 x duration_s
# A window estimated to just reach its requests would miss them half the time: aim this much above.
WINDOW_MARGIN = 1.15
# Windows per configuration at most, until the median r/s is sure (those set aside too). 2 at least and 5 at
# most, of 0.8 s, keep the default sweep of 20 configurations within two minutes on 2 cores (109-111 s) with
# 1-2 noisy rows per rerun; 4 of 1 s took 105-110 s with 4-5 (benchmarks/sweep_stability.py, issue 19).
DEFAULT_MAX_REPEAT = 5
DEFAULT_DURATION_S = 0.8


@dataclass(frozen=True)
class LoadPlan:
    """How each configuration is loaded."""

    path: str
    host_header: str
    generator: str = "builtin"
    concurrency: int | None = None  # None: above the worker count (2 x workers x threads, at least 8)
    duration_s: float = DEFAULT_DURATION_S
    warmup_s: float = 0.5
    repeat: int = 2  # the least windows; more, up to max_repeat, until the median r/s is sure (judge/quality.py)
    keepalive: bool = True
    rate: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    max_requests: int = 1_000_000
    timeout_s: float = 10.0
    pin: bool = False  # the load generator on the last core, servers and nginx on the others
    instrument_s_per_request: float | None = None  # the timing wrapper's own CPU, measured in-process
    timing: bool = True  # the servers run the timing wrapper (False: --no-timing, the plain app)
    profile: bool = False  # one more window per configuration with py-spy attached (--profile)
    max_repeat: int = DEFAULT_MAX_REPEAT  # the most windows per configuration, those set aside as shared included
    max_window_s: float | None = None  # a window's (and the warm-up's) time cap; None: 10 x duration_s
    # --instrument-pairs N: timed/plain pairs on the first configuration of each kind (0: none), and the
    # wrapper's cost they had booked per kind (judge/instrument.py), over instrument_s_per_request.
    instrument_pairs: int = 0
    instrument_by_kind: tuple[tuple[str, float], ...] = ()
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

    remote: Remote | None = None  # the load from client hosts (--client-netns, --client-host); None: this host
    locust: LocustSetup | None = None  # --loadgen locust: its workers and users (None: one local worker)

    def instrument_for(self, kind: str) -> float | None:
        """The timing wrapper's CPU per request booked for a kind: its pairs' figure, else the in-process one."""
        return dict(self.instrument_by_kind).get(kind, self.instrument_s_per_request)

    def concurrency_for(self, config: ServerConfig) -> int:
        return self.concurrency or max(8, 2 * config.workers * config.threads)

    def seconds_per_config(self) -> float:
        """A rough estimate for progress lines: start, warm-up, windows, memory, stop."""
        return 3.0 + self.warmup_s + (self.repeat + self.profile) * (self.duration_s + 0.3)

    def window_requests(self, concurrency: int) -> int:
        """The requests a window (and the warm-up) completes at least: max(200, 25 x connections)."""
        return max(MIN_WINDOW_REQUESTS, REQUESTS_PER_CONNECTION * concurrency)

    @property
    def window_cap_s(self) -> float:
        """The longest a window or the warm-up may last, never below duration_s: every load stays bounded."""
        cap = self.max_window_s if self.max_window_s is not None else WINDOW_CAP_FACTOR * self.duration_s
        return max(self.duration_s, cap)

    @property
    def most_windows(self) -> int:
        """The cap on windows per configuration (never below --repeat)."""
        return max(self.repeat, self.max_repeat)

    def first_warmup_s(self, concurrency: int, rps: float | None) -> float:
        """The warm-up's first drive: warmup_s, or what window_requests need at rps when longer; at most the cap.

        Sized by requests as a window is, but without the window's duration_s floor: a warm-up only has to
        reach the steady state, and on a fast view 200 requests take milliseconds (a 1 s floor cost the
        default sweep ~11 s of its two minutes, issue 19).
        """
        needed = WINDOW_MARGIN * self.window_requests(concurrency) / rps if rps and rps > 0 else 0.0
        return min(self.window_cap_s, max(self.warmup_s, needed))

    def window_s(self, concurrency: int, rps: float | None) -> float:
        """A window long enough for window_requests at rps: at least duration_s, at most the cap.

        rps: the throughput expected (the warm-up's, or t0's estimate); None or 0: unknown, duration_s
        (the windows after it are sized from its own throughput).
        """
        if not rps or rps <= 0:
            return self.duration_s
        needed = WINDOW_MARGIN * self.window_requests(concurrency) / rps
        return min(self.window_cap_s, max(self.duration_s, needed))


def rps_from_t0(*, wall_s: float, cpu_s: float, concurrency: int, capacity: int, cores: int) -> float | None:
    """What t0 says a configuration serves at most: its busy workers over t0's wall, or its cores over t0's CPU."""
    if wall_s <= 0:
        return None
    by_workers = min(concurrency, capacity) / wall_s
    return min(by_workers, cores / cpu_s) if cpu_s > 0 else by_workers


def default_generator() -> str:
    """wrk when installed (the built-in client trails it by up to 25 % on connection-per-request
    servers, benchmarks/loadgen_vs_wrk.py), else the built-in one."""
    return "wrk" if shutil.which("wrk", path=SYSTEM_PATH) else "builtin"
