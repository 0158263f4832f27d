"""Why a configuration caps where it caps: the segments of a request, Little's law, a verdict.

The verdict follows the measurements, in a fixed order: data quality first
(failing, client-bound), then the binding limit (cpu-saturated, load-limited,
serialized, io-bound, worker-limited), then who owns the CPU per request and
what a zero-cost server could gain at most (Javier Guerra's arithmetic from
the classic benchmark's thread: 4 ms saved on a 20 ms view is +25 %, not 10x).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..model.diagnosis import Diagnosis, Figures, ViewTime
from ..model.results import Run, Sample
from ..model.stats import SHARED_MACHINE, median
from ..servers.kinds import KINDS

# Every threshold of the verdicts, in one table (tests/unit/bench/judge/test_diagnosis.py checks each).
THRESHOLDS = {
    # Share of all cores busy (/proc/stat). On 2 cores shared by client, nginx,
    # server and database, the round trips leave idle gaps: 80 % is the wall
    # (measured: PostgreSQL sessions gained nothing from 84 % to 96 % busy).
    "cpu_saturated_busy": 0.80,
    "serialized_low": 0.80,  # X x t0 within [low, high] with several workers: one at a time
    "serialized_high": 1.20,
    "serialized_high_contended": 1.50,  # the upper bound when the app's wall time grew under load
    "at_capacity_low": 0.70,  # X x app wall / (workers x threads) within [low, high]: every worker busy
    "at_capacity_high": 1.30,
    "waiting_wall_per_cpu": 2.0,  # app wall >= this x app CPU: the app mostly waits
    "process_busy": 0.85,  # a serving process's CPU / wall: a whole core (the GIL caps a process at one)
    # X x app wall >= this x workers: requests overlap inside the workers (an event loop, greenlets)
    "overlapped": 1.5,
    # Off-CPU time (app wall - app CPU - run-queue wait) that load added, in units of t0:
    "inflated_wait": 0.5,  # >= this x t0: requests wait for one another inside the app
    "grown_wait": 0.2,  # >= this x t0: some of the wait is inside the app
    "grown_cpu": 1.5,  # app CPU under load >= this x t0's CPU: the view costs more CPU under the server
    "rate_kept": 0.97,  # an open-loop run served >= this x the offered rate: the rate was the limit
    "queue_excess": 1.5,  # queue >= this x what Little's law gives for C > workers: a wait before the app
    # CPU outside every role, as a share of all cores, that makes a full machine another process's.
    "shared_machine": SHARED_MACHINE,
}
# nginx's $msec has millisecond resolution and is truncated: on average it
# stamps 0.5 ms early, which would read as queue time.
MSEC_STAMP_BIAS_S = 0.0005
NOT_TIMED = "the app's own time was not measured (--no-timing): its CPU is booked to the server"
# "instrument": servebench's timing wrapper inside the server (measured in-process, sweep.measure_window).
ROLES = ("view", "server", "instrument", "nginx", "client", "memcached", "database")


def t0_from_runs(path: str, runs: Sequence[Run]) -> ViewTime | None:
    """t0 from the app's own time in a diagnosed 1-worker run of the path (when in-process could not give it)."""
    for run in runs:
        if run.path == path and run.workers * run.threads == 1 and run.diagnosis is not None:
            figures = run.diagnosis.figures
            if figures.app_wall_s:
                return ViewTime(figures.app_wall_s, figures.app_cpu_s or 0.0, "1-worker run")
    return None


def _sample_figures(sample: Sample) -> dict[str, float | None]:
    app = sample.app
    served = app.requests
    requests = sample.requests or 1
    app_wall = app.app_wall_ns / served / 1e9 if served else None
    app_cpu = app.app_cpu_ns / served / 1e9 if served else None
    queued = app.queued_requests
    queue = max(0.0, app.queue_ns / queued / 1e9 - MSEC_STAMP_BIAS_S) if queued else None
    per_request = {
        role: sample.cpu_s.get(role, 0.0) / requests
        for role in ("server", "instrument", "nginx", "client", "memcached")
    }
    view = app_cpu if app_cpu is not None else 0.0
    return {
        "x": sample.ok_per_s,
        "r": sample.latency_ms.get("mean", 0.0) / 1000,
        "busy": sample.machine_busy_s / (sample.wall_s * sample.cores) if sample.wall_s and sample.cores else 0.0,
        "app_wall": app_wall,
        "app_cpu": app_cpu,
        "app_runq": app.app_runq_ns / served / 1e9 if served else None,
        "queue": queue,
        "db": app.db_ns / served / 1e9 if served else None,
        "queries": app.db_queries / served if served else None,
        "view": view,
        # The wrapper runs inside the server's processes: the server's own share is the rest.
        "server": max(0.0, per_request["server"] - view),
        "instrument": per_request["instrument"],
        "nginx": per_request["nginx"],
        "client": per_request["client"],
        "memcached": per_request["memcached"],
        "database": sample.cpu_s.get("database", 0.0) / requests,
        "machine": sample.machine_busy_s / requests,
        "others": sample.others_share,
        "process_busy": (
            (sample.cpu_s.get("server", 0.0) + sample.cpu_s.get("instrument", 0.0))
            / sample.wall_s
            / len(sample.served_by_pid)
            if sample.served_by_pid and sample.wall_s
            else None
        ),
    }


def _median_of(rows: Sequence[dict[str, float | None]], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None]
    return median(values) if values else None  # type: ignore[arg-type]


def figures(run: Run, t0: ViewTime | None) -> Figures:
    """The medians of the run's per-request segments."""
    rows = [_sample_figures(sample) for sample in run.samples]
    x = _median_of(rows, "x") or 0.0
    r = _median_of(rows, "r") or 0.0
    cpu = {role: _median_of(rows, role) or 0.0 for role in ROLES}
    machine = _median_of(rows, "machine") or 0.0
    # What no role accounts for: kernel work (loopback softirqs), the
    # generator's start-up, and any other process on the machine.
    cpu["unattributed"] = max(0.0, machine - sum(cpu.values()))
    return Figures(
        throughput_rps=x,
        response_s=r,
        in_flight=x * r,
        concurrency=run.concurrency,
        capacity=run.workers * run.threads,
        cores=run.samples[0].cores if run.samples else 1,
        busy_fraction=_median_of(rows, "busy") or 0.0,
        t0_s=t0.wall_s if t0 else None,
        t0_cpu_s=t0.cpu_s if t0 else None,
        parallelism=x * t0.wall_s if t0 else None,
        app_wall_s=_median_of(rows, "app_wall"),
        app_cpu_s=_median_of(rows, "app_cpu"),
        app_runq_s=_median_of(rows, "app_runq"),
        queue_s=_median_of(rows, "queue"),
        db_s=_median_of(rows, "db"),
        queries=_median_of(rows, "queries"),
        cpu_per_request_s={role: value for role, value in cpu.items() if value > 0},
        machine_cpu_per_request_s=machine,
        serving_processes=max((len(sample.served_by_pid) for sample in run.samples), default=0),
        process_busy=_median_of(rows, "process_busy") or 0.0,
        others_busy=_median_of(rows, "others") or 0.0,
    )


def _ms(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds * 1000:.1f} ms"


def _short(seconds: float | None) -> str:
    """A short time in µs below a millisecond, else in ms."""
    if seconds is not None and seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return _ms(seconds)


def _wall_text(f: Figures) -> str:
    """'16.4 ms' or '16.4 ms, 3.0 ms of it waiting for a CPU,'."""
    runq = f.app_runq_s or 0.0
    return _ms(f.app_wall_s) + (f", {_ms(runq)} of it waiting for a CPU," if runq >= 0.0001 else "")


def _shares(cpu: dict[str, float]) -> dict[str, float]:
    total = sum(cpu.values())
    return {role: value / total for role, value in cpu.items()} if total else {}


def _gain_pct(f: Figures, *, cpu_bound: bool) -> float | None:
    """At most how much faster with a server that costs nothing (its own CPU per request gone)."""
    own = f.cpu_per_request_s.get("server", 0.0)
    # CPU-bound: the machine's CPU per request is the cost; otherwise a worker's
    # time per request is the view's wall time plus the server's own work.
    rest = f.machine_cpu_per_request_s - own if cpu_bound else (f.app_wall_s or 0.0)
    if rest <= 0:
        return None
    return 100 * own / rest


def waited_s(f: Figures) -> float | None:
    """The off-CPU time load added inside the app: (wall - CPU - run queue) under load minus t0's own
    off-CPU time (a view that sleeps or queries waits in-process too). None without t0 or app figures."""
    if f.t0_s is None or f.app_wall_s is None or f.app_cpu_s is None:
        return None
    off_cpu = max(0.0, f.app_wall_s - f.app_cpu_s - (f.app_runq_s or 0.0))
    return off_cpu - max(0.0, f.t0_s - (f.t0_cpu_s or 0.0))


def cpu_growth(f: Figures) -> float | None:
    """App CPU per request under load / t0's CPU (None when either is missing)."""
    if not f.t0_cpu_s or f.app_cpu_s is None:
        return None
    return f.app_cpu_s / f.t0_cpu_s


def _cpu_text(f: Figures) -> str:
    """'; the view costs 3.3x its in-process CPU under the server (...)' when it grew, else ''."""
    growth = cpu_growth(f)
    if growth is None or growth < THRESHOLDS["grown_cpu"]:
        return ""
    return (
        f"; the view costs {growth:.1f}x its in-process CPU under the server"
        f" ({_short(f.t0_cpu_s)} -> {_short(f.app_cpu_s)}:"
        " colder caches and CPU frequency at low load, the server's own work in the app's thread)"
    )


def _expected_queue_s(f: Figures) -> float:
    """The queue Little's law gives when every worker is busy: the surplus connections wait (C - W) / X."""
    surplus = max(0, f.concurrency - f.capacity)
    return surplus / f.throughput_rps if f.throughput_rps else 0.0


def diagnose(run: Run, t0: ViewTime | None) -> Diagnosis:
    """The verdict for one run, with the numbers that led to it."""
    f = figures(run, t0)
    shares = _shares(f.cpu_per_request_s)
    owners = {role: share for role, share in shares.items() if role != "unattributed"}
    owner = max(owners, key=lambda role: owners[role]) if owners else None
    share_text = ", ".join(f"{role} {100 * share:.0f} %" for role, share in sorted(shares.items(), key=lambda i: -i[1]))

    def verdict(name: str, why: str, advice: str, *, cpu_bound: bool = False) -> Diagnosis:
        gain = _gain_pct(f, cpu_bound=cpu_bound) if run.samples else None
        return Diagnosis(name, why, advice, owner, shares, gain, f)

    if run.quality in ("failing", "client-bound"):
        reason = "; ".join(run.quality_reasons) or run.error or run.quality
        advice = (
            "fix the errors first: a failing configuration is never a result"
            if run.quality == "failing"
            else "the load generator was the limit: use wrk (--loadgen wrk) or fewer connections"
        )
        return verdict(run.quality, reason, advice)
    busy = f.busy_fraction
    if run.rate and f.throughput_rps >= THRESHOLDS["rate_kept"] * run.rate:
        # Open loop, and it kept up: the offered rate is the limit, nothing in the server is.
        headroom = f.cores / f.machine_cpu_per_request_s if f.machine_cpu_per_request_s else math.inf
        waited = waited_s(f)
        wait_text = "" if waited is None else f"; the app waited {_ms(max(0.0, waited))} per request beyond t0"
        return verdict(
            "rate-limited",
            f"served the offered {run.rate:,.0f} r/s at cores {100 * busy:.0f} % busy; at"
            f" {_short(f.machine_cpu_per_request_s)} of CPU per request the {f.cores} cores could serve"
            f" ~{headroom:,.0f} r/s{wait_text}{_cpu_text(f)}",
            "the offered load, not the server, set this figure: measure the capacity without --rate",
        )
    others = f.others_busy  # the cores no role of this configuration used: another process, when large
    saturated = THRESHOLDS["cpu_saturated_busy"]
    if busy >= saturated and others >= THRESHOLDS["shared_machine"] and busy - others < saturated:
        return verdict(
            "machine-shared",
            f"cores {100 * busy:.0f} % busy, {100 * others:.0f} % of them outside this configuration's"
            f" roles (another process); its own roles used {100 * (busy - others):.0f} %",
            "measure again on a quiet machine: with the cores shared, this figure is not the configuration's",
        )
    if busy >= THRESHOLDS["cpu_saturated_busy"]:
        gain = _gain_pct(f, cpu_bound=True)
        gain_text = f"; a zero-cost server could add at most +{gain:.0f} %" if gain is not None else ""
        advice = (
            "the view owns the CPU: make the view cheaper; more workers or a faster server cannot help much"
            if owner == "view"
            else f"{owner} owns the CPU: a cheaper {owner} (or another machine for it) raises the cap"
        )
        return verdict(
            "cpu-saturated",
            f"cores {100 * busy:.0f} % busy; CPU per request {_ms(f.machine_cpu_per_request_s)}:"
            f" {share_text}{gain_text}",
            advice,
            cpu_bound=True,
        )
    if f.concurrency <= f.capacity:
        return verdict(
            "load-limited",
            f"{f.concurrency} connections for {f.capacity} workers x threads, cores {100 * busy:.0f} % busy:"
            " the client never kept every worker busy",
            f"raise --concurrency above {f.capacity}",
        )
    # Off-CPU time beyond t0's that is not the run queue is a wait for something other than
    # a CPU (a lock, the database); CPU that grew is not a wait. With one worker nothing can
    # wait for another.
    waited = waited_s(f)
    inflated = bool(f.capacity > 1 and f.t0_s and waited is not None and waited >= THRESHOLDS["inflated_wait"] * f.t0_s)
    low, high = THRESHOLDS["serialized_low"], THRESHOLDS["serialized_high"]
    # With the wait proven inside the app, a view whose CPU part runs in
    # parallel and whose write is serial (SQLite) still counts as serialized.
    if inflated:
        high = THRESHOLDS["serialized_high_contended"]
    if f.capacity > 1 and f.parallelism is not None and low <= f.parallelism <= high:
        assert f.t0_s is not None
        if inflated:
            where = (
                f"inside the app: its wall time grew from t0 {_ms(f.t0_s)} to {_wall_text(f)}"
                " as requests wait for one another (a lock, the database's single writer)"
            )
        elif waited is not None and waited >= THRESHOLDS["grown_wait"] * f.t0_s:
            where = f"partly inside the app: its wall time grew from t0 {_ms(f.t0_s)} to {_wall_text(f)}"
        elif f.queue_s is not None and f.queue_s >= THRESHOLDS["queue_excess"] * _expected_queue_s(f):
            where = f"before the app: {_ms(f.queue_s)} in the queue per request, more than the connections explain"
        elif f.app_wall_s is None:
            where = f"unknown: {NOT_TIMED}"
        else:
            where = "neither in the app's own time nor in the queue: look at the server"
        return verdict(
            "serialized",
            f"X x t0 = {f.parallelism:.2f} with {f.capacity} workers x threads and cores {100 * busy:.0f} % busy:"
            f" one request at a time gets through; the wait is {where}",
            "more workers cannot help: remove the serialization (e.g. PostgreSQL or cache sessions for SQLite)",
        )
    serving = f.serving_processes
    if 0 < serving < f.cores and f.process_busy >= THRESHOLDS["process_busy"]:
        cpu_cap = f.cores / f.machine_cpu_per_request_s if f.machine_cpu_per_request_s else math.inf
        expected = min(f.throughput_rps * f.cores / serving, cpu_cap)
        return verdict(
            "worker-limited",
            f"{serving} serving process{'es' if serving > 1 else ''}, each {100 * f.process_busy:.0f} % of a core"
            f" (a Python process runs on one core at a time), cores {100 * busy:.0f} % busy",
            f"more worker processes help, up to the {f.cores} cores: ~{expected:,.0f} r/s expected with {f.cores}",
        )
    kind = KINDS.get(run.kind)
    inside = f.throughput_rps * f.app_wall_s if f.app_wall_s else 0.0  # Little's law on the app
    if kind is not None and kind.concurrent_in_worker and inside >= THRESHOLDS["overlapped"] * f.capacity:
        # An event loop (or greenlets) holds every connection at once: below a full core per
        # worker, the connections, not the workers, set X.
        cpu_s = sum(f.cpu_per_request_s.get(role, 0.0) for role in ("server", "view", "instrument"))
        worker_cap = f.capacity / cpu_s if cpu_s else math.inf
        cpu_cap = f.cores / f.machine_cpu_per_request_s if f.machine_cpu_per_request_s else math.inf
        return verdict(
            "load-limited",
            f"X x app wall = {inside:.1f} > {f.capacity} worker{'s' if f.capacity > 1 else ''}: {run.kind} overlaps"
            f" the waits of the {f.concurrency} connections' requests, app wall {_ms(f.app_wall_s)}"
            f" of which {_short(f.app_cpu_s)} CPU, each worker {100 * f.process_busy:.0f} % of a core:"
            " the connections, not the workers, set this figure",
            f"raise --concurrency: X grows with the connections until a worker fills its core"
            f" (~{worker_cap:,.0f} r/s at {_short(cpu_s)} of its CPU per request) or the cores (~{cpu_cap:,.0f} r/s)",
        )
    if f.app_wall_s and not inflated:
        at_capacity = f.throughput_rps * f.app_wall_s / f.capacity
        if THRESHOLDS["at_capacity_low"] <= at_capacity <= THRESHOLDS["at_capacity_high"]:
            app_cpu = f.app_cpu_s or 0.0
            more = 2 * f.capacity
            cpu_cap = f.cores / f.machine_cpu_per_request_s if f.machine_cpu_per_request_s else math.inf
            expected = min(more / f.app_wall_s, cpu_cap)
            if f.app_wall_s >= THRESHOLDS["waiting_wall_per_cpu"] * app_cpu:
                return verdict(
                    "io-bound",
                    f"every worker busy {_ms(f.app_wall_s)} per request, {_ms(app_cpu)} of it CPU, cores"
                    f" {100 * busy:.0f} % busy: workers wait",
                    f"more workers or threads help: ~{expected:,.0f} r/s expected with {more}",
                )
            return verdict(
                "worker-limited",
                f"{f.capacity} workers x threads computing {_ms(app_cpu)} per request on {f.cores} cores,"
                f" cores {100 * busy:.0f} % busy",
                f"more workers help up to the cores: ~{min(f.cores / app_cpu if app_cpu else math.inf, expected):,.0f}"
                f" r/s expected with {max(f.cores, f.capacity + 1)}",
            )
    if inflated:
        assert f.t0_s is not None and f.app_wall_s is not None and f.parallelism is not None
        return verdict(
            "unclassified",
            f"the app's wall time grew from t0 {_ms(f.t0_s)} to {_wall_text(f)} under load, {_ms(waited)} more"
            f" off-CPU than t0 waited: requests wait for each other inside the app; X x t0 = {f.parallelism:.2f}"
            f" of {f.capacity} workers x threads, cores {100 * busy:.0f} % busy",
            "find what the requests share (a lock, a connection pool, the database); compare more worker counts",
        )
    if f.app_wall_s is None:
        return verdict(
            "unclassified",
            f"X {f.throughput_rps:,.0f} r/s, R {_ms(f.response_s)}, N = X x R {f.in_flight:.1f}"
            f" of {f.concurrency} connections, cores {100 * busy:.0f} % busy; {NOT_TIMED}",
            "run it again without --no-timing to tell io-bound, worker-limited and a wait inside the app apart",
        )
    return verdict(
        "unclassified",
        f"X {f.throughput_rps:,.0f} r/s, R {_ms(f.response_s)}, N = X x R {f.in_flight:.1f}"
        f" of {f.concurrency} connections, cores {100 * busy:.0f} % busy, app wall {_ms(f.app_wall_s)}"
        f"{_cpu_text(f)}",
        "no single limit fits: compare more worker counts (--explain)",
    )
