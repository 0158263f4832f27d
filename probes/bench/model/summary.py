"""A run's figures over its repeats, computed once and read by every report (pyperf caches its Run's median)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .stats import Spread, interval_pct

if TYPE_CHECKING:
    from .results import Run

# The CPU roles the reports show, in their order (a role no sample measured is left out). "server" is the
# server's own CPU and "view" the app's, measured inside the server's processes by the timing wrapper.
REPORTED_ROLES = ("client", "nginx", "server", "view", "instrument", "memcached", "database", "servebench")
PERCENTILES = ("p50", "p90", "p99")


@dataclass(frozen=True)
class RunSummary:
    """Medians over a run's repeats, its r/s spread, its errors and its memory (Run.summary)."""

    rps: Spread  # successful requests per second over the repeats (zeros without samples)
    latency_ms: dict[str, float]  # p50, p90, p99: medians over the repeats (a missing percentile counts as 0)
    errors: int  # answers that were not a success, summed over the repeats
    cpu_us_per_request: dict[str, float]  # median by role, in REPORTED_ROLES order
    total_cpu_us_per_request: float | None  # every role together (median), None without requests
    serving_processes: int  # the most server processes that served in one window (0: no samples)
    uss_per_worker_bytes: float | None  # median over the workers, None without per-worker memory
    total_pss_bytes: int | None  # the whole server tree, None when its memory was not read
    rps_interval_pct: float | None = None  # half the 95 % interval of the median r/s, in % (None: < 2 windows)
    capped_windows: int = 0  # windows the time cap ended before they completed the requests they were sized for
    least_requests: int = 0  # the fewest requests one of those capped windows completed
    target_requests: int = 0  # what each window was sized to complete (0: sized in seconds)
    # What a capped window costs in precision: the requests in flight at its two edges (one per
    # connection) as a share of the fewest it counted, in %; None when no window was capped.
    edge_weight_pct: float | None = None

    @classmethod
    def of(cls, run: Run) -> RunSummary:
        """The summary of one run (Run.summary caches it)."""
        samples = run.samples
        totals = [1e6 * total for s in samples if (total := s.total_cpu_s_per_request) is not None]
        capped = [s.requests for s in samples if s.capped]
        return cls(
            rps=Spread.of([s.ok_per_s for s in samples]),
            latency_ms={p: Spread.of([s.latency_ms.get(p, 0.0) for s in samples]).median for p in PERCENTILES},
            errors=sum(s.requests - s.ok for s in samples),
            cpu_us_per_request=_cpu_by_role(run),
            total_cpu_us_per_request=Spread.of(totals).median if totals else None,
            serving_processes=max((len(s.served_by_pid) for s in samples), default=0),
            uss_per_worker_bytes=run.memory.per_worker_uss_bytes,
            total_pss_bytes=run.memory.total_pss_bytes if run.memory.measured else None,
            rps_interval_pct=interval_pct([s.ok_per_s for s in samples]),
            capped_windows=len(capped),
            least_requests=min(capped, default=0),
            target_requests=max((s.target_requests for s in samples), default=0),
            edge_weight_pct=100 * run.concurrency / min(capped) if capped else None,
        )


def _cpu_by_role(run: Run) -> dict[str, float]:
    """CPU µs per request by role: each role's median, with the diagnosis's split of the server's processes."""
    cpu = {}
    for role in REPORTED_ROLES:
        values = [v for s in run.samples if (v := s.cpu_us_per_request(role)) is not None]
        if values:
            cpu[role] = Spread.of(values).median
    split = run.diagnosis.figures.cpu_per_request_s if run.diagnosis is not None else {}
    if "view" in split:  # the server's processes' CPU, split into the view's and the server's own
        cpu["view"], cpu["server"] = 1e6 * split["view"], 1e6 * split.get("server", 0.0)
    return {role: cpu[role] for role in REPORTED_ROLES if role in cpu}
