"""The one result model: frozen dataclasses with versioned JSON (pyperf's Run -> Suite idea)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from ..loadgen.requests import RequestFigures
from ..measure.speedscope import Profile
from ..processes.files import write_atomic
from .app import AppTotals
from .diagnosis import LOCUST_MASTER_ROLE, Diagnosis
from .memory import MemoryModel, TreeMemory, memory_models
from .metadata import Metadata
from .pairs import Against
from .saved import FormatError, check_figures, read_json
from .summary import RunSummary
from .tracebacks import ExceptionSeen

FORMAT = "servebench/1"
# The format's history: every change so far added fields with defaults, so a file of any of them loads.
# - Sample.server_requests, Sample.target_requests, Run.set_aside, Run.max_windows,
#   Figures.view_cpu_error_s (issue 19: one accounting, windows sized by requests, repeats until sure).
# - Sample.unattributed_roles (issue 20: a database whose server could not be found).
# - Suite.against (issue 24: two versions of the project measured in interleaved pairs).
# Roles whose CPU is read over the server's interval (the window's CPU snapshots), divided by the
# requests the server's processes completed in it; the client's is its own window's, by its own count.
CLIENT_SIDE_ROLES = frozenset({"client", LOCUST_MASTER_ROLE})  # locust's master: over the client's seconds


@dataclass(frozen=True)
class InstrumentCost:
    """What the timing wrapper adds to one request of `path`, in-process: CPU µs, wrapped minus plain."""

    path: str
    us_per_request: float  # median of the alternated pairs' differences
    us_min: float
    us_max: float
    pairs: int
    calls_per_block: int
    plain_us_per_request: float  # the plain app's CPU per call, median of its blocks
    reference: str | None = None  # what was measured instead of the view at `path`, when it was too slow


@dataclass(frozen=True)
class ViewCost:
    """One probe's cost measured in-process: no socket, no server; the floor."""

    name: str
    path: str
    status: int
    iterations: int
    wall_us_median: float
    wall_us_p90: float
    wall_us_min: float
    cpu_us_median: float
    response_bytes: int
    spread_pct: float  # (p90 - median) / median: how noisy the figure is
    session_written: bool | None = None  # the request saved a server-side session (None: not known)

    @property
    def per_worker_rps(self) -> float:
        """What one single-threaded worker can do at most: 1 / wall time."""
        return 1e6 / self.wall_us_median if self.wall_us_median > 0 else float("inf")

    def machine_rps(self, cores: int) -> float:
        """What the machine's cores can do at most if the view's CPU were all: cores / CPU time."""
        return cores * 1e6 / self.cpu_us_median if self.cpu_us_median > 0 else float("inf")


@dataclass(frozen=True)
class Skipped:
    """Something asked for that could not be measured here, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Configured:
    """What identifies a configuration in every result (servers.ServerConfig.describe())."""

    label: str
    kind: str
    workers: int
    threads: int
    front: str
    socket: str
    app: str


@dataclass(frozen=True)
class Check(Configured):
    """One configuration brought up, requested through the full path, and torn down."""

    ok: bool
    reason: str  # why it failed, or "" when ok
    ready_s: float
    processes: dict[str, int] = field(default_factory=dict)
    expected_server_processes: int = 0
    warnings: tuple[str, ...] = ()
    applicable: bool = True  # False: the configuration cannot exist (FastCGI without nginx); not a failure


@dataclass(frozen=True)
class Sample:
    """One measured window of one configuration (one repeat)."""

    generator: str
    duration_s: float
    requests: int
    ok: int
    errors: dict[str, int]
    status_counts: dict[str, int]
    redirect_location: str | None
    latency_ms: dict[str, float]  # p50, p90, p99, max, mean
    cpu_s: dict[str, float]  # CPU seconds per role in the window: client, server, nginx, memcached, servebench
    machine_busy_s: float  # all cores, from /proc/stat
    wall_s: float
    cores: int
    app: AppTotals  # the timing wrapper's counters over the window (ns, counts)
    served_by_pid: dict[str, int]  # requests each server process completed in the window
    # The requests the server's processes completed over the CPU snapshots' interval (the timing counters'
    # delta, which every request increments): the count the server side's CPU is divided by. None: no
    # counters (--no-timing) or a result saved before it; then the client's count stands in, as it always did.
    server_requests: int | None = None
    # The requests the window was sized to complete (LoadPlan.window_requests); 0: sized in seconds only.
    target_requests: int = 0
    # The project's services whose processes could not be found, role -> how the project reaches them
    # ({"database": "unix socket /var/run/postgresql/.s.PGSQL.5432"}): their CPU is in the unattributed,
    # so that CPU is not another process's. Empty in results saved before it.
    unattributed_roles: dict[str, str] = field(default_factory=dict)
    per_request: tuple[RequestFigures, ...] = ()  # a --urls mix: each request's figures (loadgen.requests)
    # The load came from other hosts (--client-netns, --client-host): the client's CPU is theirs, reported
    # as "client (remote host)", never part of this host's /proc/stat reconciliation.
    client_remote: bool = False
    client_hosts: int = 1  # how many client hosts sent the load (their CPU is summed in cpu_s["client"])
    busiest_client_cpu_s: float | None = None  # with several: the busiest host's CPU (client-bound is per host)
    load_notes: tuple[str, ...] = ()  # how the generator's figures were made (several hosts merged, ...)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        per_request = tuple(RequestFigures.from_dict(item) for item in data.get("per_request", ()))
        values = _fields_of(cls, data)
        values.update(app=AppTotals.from_dict(data.get("app", {})), per_request=per_request)
        values["load_notes"] = tuple(data.get("load_notes", ()))
        return cls(**values)

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def served(self) -> int:
        """The completions the server side's CPU is divided by: the server's own count, else the client's."""
        return self.server_requests if self.server_requests is not None else self.requests

    def completions(self, role: str) -> int:
        """The requests counted on the role's side over the interval its CPU was read (the one accounting)."""
        return self.requests if role in CLIENT_SIDE_ROLES else self.served

    def cpu_us_per_request(self, role: str) -> float | None:
        """CPU µs one role spent per request completed on its side (None when it was not measured)."""
        count = self.completions(role)
        if role not in self.cpu_s or not count:
            return None
        return 1e6 * self.cpu_s[role] / count

    @property
    def total_cpu_s_per_request(self) -> float | None:
        """This host's CPU per request, every role's, each by its own side's count (None without requests).

        A client on other hosts (client_remote) spent its CPU there: it is reported on its own, not here.
        """
        if not self.requests or not self.served:
            return None
        here = self.cpu_here
        if self.served == self.requests:  # one count: the sum divided once (as results saved earlier were)
            return sum(here.values()) / self.requests
        return sum(cpu / self.completions(role) for role, cpu in here.items())

    @property
    def cpu_here(self) -> dict[str, float]:
        """The roles' CPU spent on this host: all of them, but a client on other hosts."""
        return {role: cpu for role, cpu in self.cpu_s.items() if not (self.client_remote and role == "client")}

    @property
    def capped(self) -> bool:
        """The time cap ended the window before it completed the requests it was sized for."""
        return 0 < self.requests < self.target_requests

    @property
    def unattributed_cpu_s(self) -> float:
        """Machine CPU no role accounts for (other processes, kernel, the client's start-up)."""
        here = self.cpu_here
        return self.machine_busy_s - sum(here.values())

    @property
    def unattributed_share(self) -> float:
        """That CPU as a share of all the cores over the window: large, another process shared the machine."""
        capacity_s = self.wall_s * self.cores
        return max(0.0, self.unattributed_cpu_s) / capacity_s if capacity_s > 0 else 0.0


@dataclass(frozen=True)
class Failure:
    """What broke in a configuration: its answer before the load, what was raised, what Django decided."""

    summary: str  # one line: the why line of the run
    status: int | None = None  # the target's status through the configuration (None: no answer, or never up)
    in_process_status: int | None = None  # the same request in servebench's own process (None: not tried)
    exceptions: tuple[ExceptionSeen, ...] = ()  # the first distinct ones, from the server and its log
    decided: str = ""  # what Django decided for a 3xx/4xx (the host to allow, CSRF, no URL matched, Location)
    logs: tuple[str, ...] = ()  # the logs kept for it (server, nginx)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        values = _fields_of(cls, data)
        values["exceptions"] = tuple(_build(ExceptionSeen, item) for item in data.get("exceptions", ()))
        values["logs"] = tuple(data.get("logs", ()))
        return cls(**values)


@dataclass(frozen=True)
class Run(Configured):
    """One configuration under load: its repeats, memory, and how far to trust it."""

    path: str
    concurrency: int
    keepalive: bool
    generator: str
    rate: float | None = None  # open loop: the offered r/s (--rate); None: closed loop
    samples: tuple[Sample, ...] = ()
    memory: TreeMemory = field(default_factory=TreeMemory)  # every process of the server tree
    nginx_memory: TreeMemory = field(default_factory=TreeMemory)
    quality: str = "failing"  # ok, noisy, client-bound or failing
    quality_reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str = ""  # why it could not be measured at all
    verdict: str = ""  # what binds it (diagnosis.py), "" until diagnosed
    diagnosis: Diagnosis | None = None  # the why, the advice and the numbers behind the verdict
    failure: Failure | None = None  # what broke, when it failed
    timing: bool = True  # the timing wrapper ran inside the server (False: --no-timing, no app figures)
    # --profile: one more window with py-spy attached (its r/s beside the measured ones' is what
    # profiling costs), what it recorded, or why there is no profile.
    profiled: Sample | None = None
    profile: Profile | None = None
    profile_note: str = ""
    # Windows measured but left out of `samples`: another process took >= 25 % of the cores in them
    # (judge/quality.py decides), so they were measured again, up to LoadPlan.max_repeat windows.
    set_aside: int = 0
    # The most windows it could have had (LoadPlan.most_windows); 0: saved before repeats until sure.
    max_windows: int = 0
    # --loadgen locust: wrk's CPU µs per request on the same URL and configuration, from a short drive after
    # the warm-up (None: not measured, or wrk missing); what a user compares locust's workers' cost with.
    client_reference_us: float | None = None

    @cached_property
    def summary(self) -> RunSummary:
        """Its figures over the repeats (r/s spread, percentiles, CPU per role, memory), computed once."""
        return RunSummary.of(self)

    def to_dict(self) -> dict[str, Any]:
        """As the JSON keeps it: memory as a list of processes, the diagnosis as it writes itself."""
        data = asdict(self)
        data["memory"], data["nginx_memory"] = self.memory.to_list(), self.nginx_memory.to_list()
        data["diagnosis"] = self.diagnosis.to_dict() if self.diagnosis else None
        for saved, sample in zip(data["samples"], self.samples, strict=True):
            saved["app"] = sample.app.to_dict()  # the crossings' keys only where counted
        if self.profiled is not None:
            data["profiled"]["app"] = self.profiled.app.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["samples"] = tuple(Sample.from_dict(item) for item in data.get("samples", ()))
        values["memory"] = TreeMemory.from_list(data.get("memory", ()))
        values["nginx_memory"] = TreeMemory.from_list(data.get("nginx_memory", ()))
        for name in ("quality_reasons", "warnings"):
            values[name] = tuple(data.get(name, ()))
        values["failure"] = Failure.from_dict(data["failure"]) if data.get("failure") else None
        values["diagnosis"] = Diagnosis.from_dict(data["diagnosis"]) if data.get("diagnosis") else None
        values["profiled"] = Sample.from_dict(data["profiled"]) if data.get("profiled") else None
        values["profile"] = Profile.from_dict(data["profile"]) if data.get("profile") else None
        return cls(**values)


@dataclass(frozen=True)
class Suite:
    """Everything one servebench invocation measured."""

    metadata: Metadata
    view_costs: tuple[ViewCost, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    checks: tuple[Check, ...] = ()
    runs: tuple[Run, ...] = ()
    notes: tuple[str, ...] = ()
    preflight: tuple[dict[str, str], ...] = ()  # the project's settings that make figures lie or cap them
    housekeeping: dict[str, Any] = field(default_factory=dict)  # what servebench created and removed
    instrument: tuple[InstrumentCost, ...] = ()  # the timing wrapper's own cost, per target
    against: Against | None = None  # --against: which runs are A and B, and the order of their windows

    @cached_property
    def memory_models(self) -> tuple[MemoryModel, ...]:
        """Total PSS against workers per server kind, app and front, with the fitted line; computed once."""
        return memory_models(self.runs)

    def to_dict(self) -> dict[str, Any]:
        # A diagnosis says how it is written (the scaling fit's figures at its top).
        data = {"format": FORMAT, **asdict(self), "runs": [run.to_dict() for run in self.runs]}
        if self.against is None:  # a result of one side only reads as it always did
            del data["against"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suite:
        """The suite a result's JSON holds; FormatError for another format or a figure out of range."""
        if data.get("format") != FORMAT:
            raise FormatError(f"not a {FORMAT} result (format: {data.get('format')!r})")
        check_figures(data)  # saved.py: every figure finite, none negative that cannot be
        return cls(
            metadata=Metadata.from_dict(data["metadata"]),
            view_costs=tuple(_build(ViewCost, item) for item in data.get("view_costs", ())),
            skipped=tuple(_build(Skipped, item) for item in data.get("skipped", ())),
            runs=tuple(Run.from_dict(item) for item in data.get("runs", ())),
            notes=tuple(data.get("notes", ())),
            preflight=tuple(data.get("preflight", ())),
            instrument=tuple(_build(InstrumentCost, item) for item in data.get("instrument", ())),
            housekeeping=dict(data.get("housekeeping", {})),
            against=Against.from_dict(data["against"]) if data.get("against") else None,
            checks=tuple(
                _build(Check, {**item, "warnings": tuple(item.get("warnings", ()))}) for item in data.get("checks", ())
            ),
        )

    def dump(self, path: Path) -> None:
        """Write as JSON, atomically and never through a planted link (files.write_atomic)."""
        write_atomic(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> Suite:
        """A saved result, validated (saved.py); FormatError naming the file, OSError if it cannot be opened."""
        data = read_json(path)
        try:
            return cls.from_dict(data)
        except FormatError as exc:
            raise FormatError(f"{path}: {exc}") from None


def _fields_of(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _build(cls: type, data: dict[str, Any]) -> Any:
    return cls(**_fields_of(cls, data))
