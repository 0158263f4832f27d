"""What a run's figures say: t0, the per-request segments, the verdict, and the findings across
configurations (the scaling over worker counts, the knee over connections)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from .across_runs import Knee, Scaling

# The client's CPU per request when the load came from other hosts: reported, never in this host's split.
REMOTE_CLIENT_ROLE = "client (remote host)"
# locust's master: on this host beside the server, whether its workers run here or on client hosts.
LOCUST_MASTER_ROLE = "client (locust master)"


class Verdict(StrEnum):
    """What binds a run (bench/judge/rules.py decides it); the value is what JSON and the reports say."""

    FAILING = "failing"
    CLIENT_BOUND = "client-bound"
    RATE_LIMITED = "rate-limited"
    MACHINE_SHARED = "machine-shared"
    CPU_SATURATED = "cpu-saturated"
    LOAD_LIMITED = "load-limited"
    SERIALIZED = "serialized"
    CONTENDED = "contended"  # requests wait for one another inside the app, well below one at a time
    WORKER_LIMITED = "worker-limited"
    IO_BOUND = "io-bound"
    UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class Finding:
    """What one rule found: the verdict, the rule's name, and the numbers it decided on."""

    verdict: Verdict
    rule: str
    numbers: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Hint:
    """What one advice rule found (e.g. would async help at one worker): its name and numbers."""

    rule: str
    numbers: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ViewTime:
    """t0: the view's uncontended cost (seconds), and where it was measured."""

    wall_s: float
    cpu_s: float
    source: str  # "in-process" or "1-worker run"
    session_written: bool | None = None  # the view saved a session (its Set-Cookie in-process); None: not known


@dataclass(frozen=True)
class Figures:
    """The per-request segments of one run (medians over its repeats); times in seconds.

    The properties are the figures the verdicts are built from, each defined once here.
    """

    throughput_rps: float
    response_s: float  # mean latency seen by the client
    in_flight: float  # Little's law: N = X x R
    concurrency: int
    capacity: int  # workers x threads
    cores: int
    busy_fraction: float
    t0_s: float | None
    parallelism: float | None  # X x t0: requests' worth of uncontended work completed at once
    app_wall_s: float | None
    app_cpu_s: float | None
    app_runq_s: float | None  # of the app's wall time, waiting for a CPU (the run queue)
    queue_s: float | None
    db_s: float | None
    queries: float | None
    cpu_per_request_s: dict[str, float]  # by role: view, server (its own, without the view), nginx, ...
    machine_cpu_per_request_s: float
    serving_processes: int = 0  # server processes that completed requests
    process_busy: float = 0.0  # the server's CPU per serving process, in cores
    t0_cpu_s: float | None = None  # t0's CPU (wall minus it: what the view waits for even alone)
    others_busy: float = 0.0  # share of all cores no role of the configuration used (Sample.unattributed_share)
    # The standard error of the view's CPU per request, extrapolated from the sampled requests; the
    # server's own share (the server's total minus the view's) carries the same. None: not sampled.
    view_cpu_error_s: float | None = None
    t0_session_written: bool | None = None  # t0's request saved a session (None: not known, saved before it)

    @property
    def cpu_cap_rps(self) -> float:
        """The most the cores could serve at this CPU per request: cores / the machine's CPU per request."""
        return self.cores / self.machine_cpu_per_request_s if self.machine_cpu_per_request_s else math.inf

    @property
    def own_busy(self) -> float:
        """The share of all cores this configuration's own roles used (busy minus the others')."""
        return self.busy_fraction - self.others_busy

    @property
    def waited_s(self) -> float | None:
        """The off-CPU time load added inside the app: (wall - CPU - run queue) under load minus t0's own
        off-CPU time (a view that sleeps or queries waits in-process too). None without t0 or app figures."""
        if self.t0_s is None or self.app_wall_s is None or self.app_cpu_s is None:
            return None
        off_cpu = max(0.0, self.app_wall_s - self.app_cpu_s - (self.app_runq_s or 0.0))
        return off_cpu - max(0.0, self.t0_s - (self.t0_cpu_s or 0.0))

    @property
    def cpu_growth(self) -> float | None:
        """App CPU per request under load / t0's CPU (None when either is missing)."""
        if not self.t0_cpu_s or self.app_cpu_s is None:
            return None
        return self.app_cpu_s / self.t0_cpu_s

    @property
    def expected_queue_s(self) -> float:
        """The queue Little's law gives when every worker is busy: the surplus connections wait (C - W) / X."""
        surplus = max(0, self.concurrency - self.capacity)
        return surplus / self.throughput_rps if self.throughput_rps else 0.0

    @property
    def in_app(self) -> float:
        """Little's law on the app: X x app wall, the requests inside the app at once (0 untimed)."""
        return self.throughput_rps * self.app_wall_s if self.app_wall_s else 0.0

    @property
    def workers_busy(self) -> float | None:
        """X x app wall / (workers x threads): 1.0 when every worker is inside the app all the time."""
        return self.in_app / self.capacity if self.app_wall_s else None

    @property
    def cpu_shares(self) -> dict[str, float]:
        """CPU per request by role, as fractions of the roles' sum."""
        here = {role: v for role, v in self.cpu_per_request_s.items() if role != REMOTE_CLIENT_ROLE}
        total = sum(here.values())
        return {role: value / total for role, value in here.items()} if total else {}

    @property
    def cpu_owner(self) -> str | None:
        """The role with the largest CPU share ('unattributed' is nobody's)."""
        owners = {role: share for role, share in self.cpu_shares.items() if role != "unattributed"}
        return max(owners, key=lambda role: owners[role]) if owners else None

    def server_gain_pct(self, *, cpu_bound: bool) -> float | None:
        """At most how much faster with a server that costs nothing (its own CPU per request gone)."""
        own = self.cpu_per_request_s.get("server", 0.0)
        # CPU-bound: the machine's CPU per request is the cost; otherwise a worker's
        # time per request is the view's wall time plus the server's own work.
        rest = self.machine_cpu_per_request_s - own if cpu_bound else (self.app_wall_s or 0.0)
        if rest <= 0:
            return None
        return 100 * own / rest


@dataclass(frozen=True)
class Diagnosis:
    """A run's verdict, why, what to do, and the numbers behind it (bench/judge/rules.py)."""

    # The rule's verdict (a Verdict); from a saved file, the text it was saved with.
    verdict: str
    why: str
    advice: str
    owner: str | None  # the role with the largest CPU share
    shares: dict[str, float]  # CPU per request by role, fractions of the roles' sum
    server_gain_pct: float | None  # what a zero-cost server could add to X at most
    figures: Figures
    # Across the sweep's configurations of the same server and path (judge/across_runs.py), when it has them:
    scaling: Scaling | None = None  # over >= 3 worker counts: serial fraction σ, coherency κ, the CPU ceiling
    knee: Knee | None = None  # over >= 3 concurrency levels: the knee, Little's law, queueing only
    # The scaling fit's word when it names the verdict ('partly serialized (σ = 0.53)'): shown in its place.
    qualifier: str | None = None
    # The rule that decided, in the process that judged (not saved: its words are the why and the advice).
    finding: Finding | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """As JSON: the scaling's fit at its top (diagnosis.scaling.serial_fraction), the knee's summary."""
        skipped = ("figures", "scaling", "knee", "qualifier", "finding")
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skipped}
        return {
            **data,
            # Saved as it always was: the qualifier in the verdict's place (wording.verdict_text).
            "verdict": self.qualifier or self.verdict,
            "figures": asdict(self.figures),
            "scaling": self.scaling.to_dict() if self.scaling else None,
            "knee": self.knee.to_dict() if self.knee else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        names = {f.name for f in fields(cls)} - {"qualifier", "finding"}
        values = {key: value for key, value in data.items() if key in names}
        names = {f.name for f in fields(Figures)}
        values["figures"] = Figures(**{key: value for key, value in data["figures"].items() if key in names})
        values["scaling"] = Scaling.from_dict(data["scaling"]) if data.get("scaling") else None
        values["knee"] = Knee.from_dict(data["knee"]) if data.get("knee") else None
        return cls(**values)
