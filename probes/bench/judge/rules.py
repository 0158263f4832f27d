"""Why a configuration caps where it caps: the verdict rules, one small function each, in order.

The verdict follows the measurements, in a fixed order: data quality first
(failing, client-bound), then the binding limit (cpu-saturated, load-limited,
serialized, io-bound, worker-limited), then who owns the CPU per request and
what a zero-cost server could gain at most (Javier Guerra's arithmetic from
the classic benchmark's thread: 4 ms saved on a 20 ms view is +25 %, not 10x).
The first rule that finds returns a Finding (its verdict, name and numbers);
wording.py turns it into the why and the advice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ..model.diagnosis import Diagnosis, Figures, Finding, Verdict, ViewTime
from ..model.results import Run
from ..servers.kinds import KINDS
from . import wording
from .crossings import crossings
from .figures import db_share, figures
from .quality import SHARED_MACHINE

# Share of all cores busy (/proc/stat) that is a full machine. On 2 cores shared by client, nginx,
# server and database, the round trips leave idle gaps: 80 % is the wall (measured: PostgreSQL
# sessions gained nothing from 84 % to 96 % busy). The scaling fit's CPU ceiling is the same wall.
CPU_WALL = 0.80
# Every threshold of the verdicts, in one table (tests/unit/bench/judge/test_rules.py checks each).
THRESHOLDS = {
    "cpu_saturated_busy": CPU_WALL,
    "serialized_low": 0.80,  # X x t0 within [low, high] with several workers: one at a time
    "serialized_high": 1.20,
    "serialized_high_contended": 1.50,  # the upper bound when the app's wall time grew under load
    "at_capacity_low": 0.70,  # X x app wall / (workers x threads) within [low, high]: every worker busy
    "at_capacity_high": 1.30,
    "waiting_wall_per_cpu": 2.0,  # app wall >= this x app CPU: the app mostly waits
    # Within [low, high) x app CPU the same view reads either way from one run to the next: the verdict
    # stays the 2.0 rule's, the why gives both readings (workers_between).
    "waiting_band_low": 1.6,
    "waiting_band_high": 2.4,
    # A serving process's CPU / wall that is a whole core (the GIL caps a process at one). On 2 cores shared
    # with nginx and the client it never reaches 1: one worker read 85-97 % in the default sweep, granian
    # w1x4t 84.8 % once (then no rule fitted: unclassified); 75 % leaves the scheduler's share a margin.
    "process_busy": 0.75,
    # Fewer serving processes than cores, each on a whole core, reads worker-limited below this share of
    # the cores busy, cpu-saturated at or above it. One process on 2 cores left 54-77 % of them busy in
    # the default sweep: at the 80 % wall, granian w1x4t read either way from one rerun to the next.
    "process_full_machine": 0.95,
    "process_one_core": 1.10,  # a process above this x a core runs threads beside the GIL: not its cap
    # X x app wall >= this x workers: requests overlap inside the workers (an event loop, greenlets)
    "overlapped": 1.5,
    # Off-CPU time (app wall - app CPU - run-queue wait) that load added, in units of t0:
    "inflated_wait": 0.5,  # >= this x t0: requests wait for one another inside the app
    # X x t0 <= this x workers x threads, the wait inflated, the cores idle: contended, well short of
    # what the workers could do in parallel (X x t0 ≈ 1 is serialized, decided before).
    "contended_parallelism": 0.5,
    "grown_wait": 0.2,  # >= this x t0: some of the wait is inside the app
    "grown_cpu": 1.5,  # app CPU under load >= this x t0's CPU: the view costs more CPU under the server
    "rate_kept": 0.97,  # an open-loop run served >= this x the offered rate: the rate was the limit
    "queue_excess": 1.5,  # queue >= this x what Little's law gives for C > workers: a wait before the app
    # CPU outside every role, as a share of all cores, that makes a full machine another process's.
    "shared_machine": SHARED_MACHINE,
}


@dataclass(frozen=True)
class Case:
    """What the rules read: a run's figures and the facts of its configuration."""

    figures: Figures
    quality: str
    quality_reason: str  # the quality's reasons in one line (or the error)
    rate: float | None  # open loop: the offered r/s
    kind: str
    overlaps: bool  # the server overlaps requests inside a worker (an event loop, greenlets)
    workers: int = 1  # the configuration's worker processes
    # The project's own services whose processes could not be found (role -> how it connects): their CPU
    # is in the unattributed, which is then not another process's.
    unattributed: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, run: Run, t0: ViewTime | None) -> Case:
        kind = KINDS.get(run.kind)
        return cls(
            figures=figures(run, t0),
            quality=run.quality,
            quality_reason="; ".join(run.quality_reasons) or run.error or run.quality,
            rate=run.rate,
            kind=run.kind,
            overlaps=kind is not None and kind.concurrent_in_worker,
            workers=run.workers,
            unattributed={role: how for sample in run.samples for role, how in sample.unattributed_roles.items()},
        )

    def server_gain_pct(self, *, cpu_bound: bool) -> float | None:
        """What a zero-cost server could add at most; None where one thread runs many requests: the wrapper
        books the server's own loop to the view there (timing/writer.py, shares_cpu), so no server share is
        measured to take away."""
        return None if self.overlaps else self.figures.server_gain_pct(cpu_bound=cpu_bound)

    @cached_property
    def inflated(self) -> bool:
        """Requests wait for one another inside the app: off-CPU time beyond t0's, not the run queue.

        CPU that grew is not a wait; with one worker nothing can wait for another.
        """
        f, waited = self.figures, self.figures.waited_s
        return bool(f.capacity > 1 and f.t0_s and waited is not None and waited >= THRESHOLDS["inflated_wait"] * f.t0_s)

    @property
    def cpu_growth(self) -> dict[str, float]:
        """{"cpu_growth": x} when the view costs noticeably more CPU under the server than in-process, else {}."""
        growth = self.figures.cpu_growth
        return {"cpu_growth": growth} if growth is not None and growth >= THRESHOLDS["grown_cpu"] else {}


def bad_data(case: Case) -> Finding | None:
    """Failing or client-bound data is never a result: that comes first."""
    if case.quality not in (Verdict.FAILING, Verdict.CLIENT_BOUND):
        return None
    return Finding(Verdict(case.quality), "bad_data")


def rate_kept(case: Case) -> Finding | None:
    """Open loop, and it kept up: the offered rate is the limit, nothing in the server is."""
    f = case.figures
    if not case.rate or f.throughput_rps < THRESHOLDS["rate_kept"] * case.rate:
        return None
    numbers = {"rate_rps": case.rate, "cpu_cap_rps": f.cpu_cap_rps, **case.cpu_growth}
    if f.waited_s is not None:
        numbers["waited_s"] = max(0.0, f.waited_s)
    return Finding(Verdict.RATE_LIMITED, "rate_kept", numbers)


def machine_shared(case: Case) -> Finding | None:
    """A full machine whose cores mostly went to no role of this configuration: another process's load.

    Not when a service of the project's own (its database) could not be found: its CPU is in the
    unattributed, and the machine may well have been quiet.
    """
    f = case.figures
    if case.unattributed:
        return None
    full = f.busy_fraction >= CPU_WALL
    if not (full and f.others_busy >= THRESHOLDS["shared_machine"] and f.own_busy < CPU_WALL):
        return None
    numbers = {"busy": f.busy_fraction, "others_busy": f.others_busy, "own_busy": f.own_busy}
    return Finding(Verdict.MACHINE_SHARED, "machine_shared", numbers)


def cpu_saturated(case: Case) -> Finding | None:
    """Every core busy: more workers cannot help; the CPU's owner can."""
    f = case.figures
    if f.busy_fraction < CPU_WALL:
        return None
    # One process on a whole core with room beside it: another process could use that room, whatever the
    # client and nginx take of it; that is worker-limited (process_on_a_core), not a full machine.
    if _gil_bound(case) and f.busy_fraction < THRESHOLDS["process_full_machine"]:
        return None
    numbers = {"busy": f.busy_fraction}
    gain = case.server_gain_pct(cpu_bound=True)
    if gain is not None:
        numbers["server_gain_pct"] = gain
    return Finding(Verdict.CPU_SATURATED, "cpu_saturated", numbers)


def too_few_connections(case: Case) -> Finding | None:
    """No more connections than workers x threads: the client never kept every worker busy."""
    f = case.figures
    if f.concurrency > f.capacity:
        return None
    return Finding(Verdict.LOAD_LIMITED, "too_few_connections", {"concurrency": f.concurrency, "capacity": f.capacity})


def serialized(case: Case) -> Finding | None:
    """X x t0 ≈ 1 with several workers: one request at a time gets through; the rule's name says where."""
    f = case.figures
    # With the wait proven inside the app, a view whose CPU part runs in
    # parallel and whose write is serial (SQLite) still counts as serialized.
    high = THRESHOLDS["serialized_high_contended" if case.inflated else "serialized_high"]
    if f.capacity <= 1 or f.parallelism is None or not THRESHOLDS["serialized_low"] <= f.parallelism <= high:
        return None
    assert f.t0_s is not None
    waited = f.waited_s
    if case.inflated:
        where = "serialized_inside_app"
    elif waited is not None and waited >= THRESHOLDS["grown_wait"] * f.t0_s:
        where = "serialized_partly_inside_app"
    elif f.queue_s is not None and f.queue_s >= THRESHOLDS["queue_excess"] * f.expected_queue_s:
        where = "serialized_before_app"
    elif f.app_wall_s is None:
        where = "serialized_untimed"
    else:
        where = "serialized_elsewhere"
    return Finding(Verdict.SERIALIZED, where, {"parallelism": f.parallelism, "high": high, **db_share(f)})


def _on_a_core(f: Figures) -> bool:
    """Fewer serving processes than cores, each on a whole core."""
    return 0 < f.serving_processes < f.cores and f.process_busy >= THRESHOLDS["process_busy"]


def _gil_bound(case: Case) -> bool:
    """Fewer workers than cores, each serving on one whole core and no more: the GIL is the cap."""
    f = case.figures
    return _on_a_core(f) and case.workers < f.cores and f.process_busy <= THRESHOLDS["process_one_core"]


def process_on_a_core(case: Case) -> Finding | None:
    """Fewer serving processes than cores, each on a whole core: the GIL caps each at one core."""
    f = case.figures
    serving = f.serving_processes
    if not _on_a_core(f):
        return None
    expected = min(f.throughput_rps * f.cores / serving, f.cpu_cap_rps)
    numbers = {"serving_processes": serving, "process_busy": f.process_busy, "expected_rps": expected}
    return Finding(Verdict.WORKER_LIMITED, "process_on_a_core", numbers)


def overlapped_waits(case: Case) -> Finding | None:
    """An event loop (or greenlets) holds every connection at once: below a full core per worker,
    the connections, not the workers, set X."""
    f = case.figures
    if not case.overlaps or f.in_app < THRESHOLDS["overlapped"] * f.capacity:
        return None
    cpu_s = sum(f.cpu_per_request_s.get(role, 0.0) for role in ("server", "view", "instrument"))
    worker_cap = f.capacity / cpu_s if cpu_s else float("inf")
    numbers = {"in_app": f.in_app, "worker_cpu_s": cpu_s, "worker_cap_rps": worker_cap, "cpu_cap_rps": f.cpu_cap_rps}
    return Finding(Verdict.LOAD_LIMITED, "overlapped_waits", numbers)


def workers_busy(case: Case) -> Finding | None:
    """Every worker inside the app all the time, nobody waiting for another: waiting (io-bound) or computing."""
    f = case.figures
    busy = f.workers_busy
    if busy is None or case.inflated or not THRESHOLDS["at_capacity_low"] <= busy <= THRESHOLDS["at_capacity_high"]:
        return None
    assert f.app_wall_s is not None
    app_cpu = f.app_cpu_s or 0.0
    more = 2 * f.capacity
    waiting = {"workers_busy": busy, "expected_rps": min(more / f.app_wall_s, f.cpu_cap_rps), "with_capacity": more}
    computing = {
        "workers_busy": busy,
        "expected_rps": min(f.cores / app_cpu if app_cpu else float("inf"), waiting["expected_rps"]),
        "with_capacity": max(f.cores, f.capacity + 1),
    }
    verdict = (
        Verdict.IO_BOUND if f.app_wall_s >= THRESHOLDS["waiting_wall_per_cpu"] * app_cpu else Verdict.WORKER_LIMITED
    )
    if THRESHOLDS["waiting_band_low"] * app_cpu <= f.app_wall_s < THRESHOLDS["waiting_band_high"] * app_cpu:
        # Both readings fit: the why says so instead of flipping from one run to the next.
        numbers = {
            **{f"{key}_waiting": value for key, value in waiting.items()},
            **{f"{key}_computing": value for key, value in computing.items() if key != "workers_busy"},
            "cpu_share": app_cpu / f.app_wall_s,
        }
        return Finding(verdict, "workers_between", numbers)
    if verdict is Verdict.IO_BOUND:
        return Finding(verdict, "workers_waiting", waiting)
    return Finding(verdict, "workers_computing", computing)


def contended(case: Case) -> Finding | None:
    """Requests wait for one another inside the app while cores idle, and X x t0 is well under the workers:
    contention (a lock held part of the time, the database's writer), named in one run."""
    f = case.figures
    if not case.inflated or f.busy_fraction >= CPU_WALL:
        return None
    assert f.waited_s is not None and f.parallelism is not None and f.t0_s is not None
    if f.parallelism > THRESHOLDS["contended_parallelism"] * f.capacity:
        return None
    numbers = {"waited_s": f.waited_s, "parallelism": f.parallelism, **db_share(f)}
    return Finding(Verdict.CONTENDED, "contended", numbers)


def waits_inside_app(case: Case) -> Finding | None:
    """The wall grew by waiting for one another, but no bound above fits: say that much."""
    f = case.figures
    if not case.inflated:
        return None
    assert f.waited_s is not None and f.parallelism is not None
    return Finding(Verdict.UNCLASSIFIED, "waits_inside_app", {"waited_s": f.waited_s, "parallelism": f.parallelism})


def untimed(case: Case) -> Finding | None:
    """--no-timing: without the app's own time, io-bound, worker-limited and a wait cannot be told apart."""
    return Finding(Verdict.UNCLASSIFIED, "untimed") if case.figures.app_wall_s is None else None


def no_rule_fits(case: Case) -> Finding:
    """The last resort: the numbers, and compare more worker counts."""
    return Finding(Verdict.UNCLASSIFIED, "no_rule_fits", {"in_flight": case.figures.in_flight, **case.cpu_growth})


# In order: the first rule that finds decides.
RULES: tuple[Callable[[Case], Finding | None], ...] = (
    bad_data,
    rate_kept,
    machine_shared,
    cpu_saturated,
    too_few_connections,
    serialized,
    process_on_a_core,
    overlapped_waits,
    workers_busy,
    contended,
    waits_inside_app,
    untimed,
    no_rule_fits,
)


def find(case: Case) -> Finding:
    """The finding of the first rule that fits the case."""
    return next(finding for rule in RULES if (finding := rule(case)) is not None)


def diagnose(run: Run, t0: ViewTime | None) -> Diagnosis:
    """The verdict for one run, with the numbers that led to it."""
    case = Case.of(run, t0)
    finding = find(case)
    f = case.figures
    why, advice = wording.diagnosis_words(finding, case)
    if case.overlaps and finding.verdict is Verdict.CPU_SATURATED and "view" in f.cpu_shares:
        why += wording.SHARED_THREAD  # beside the shares it names: the view's is no measure of the server's
    if case.unattributed:
        why += wording.unattributed_text(case.unattributed)
    crossed = crossings(run, f.app_cpu_s) if finding.verdict is not Verdict.FAILING else None
    if crossed is not None:  # under ASGI: what asgiref's crossings and new threads cost (judge/crossings.py)
        why, advice = wording.with_crossings(why, advice, crossed)
    cpu_bound = finding.verdict is Verdict.CPU_SATURATED
    gain = case.server_gain_pct(cpu_bound=cpu_bound) if run.samples else None
    return Diagnosis(finding.verdict, why, advice, f.cpu_owner, f.cpu_shares, gain, f, finding=finding)
