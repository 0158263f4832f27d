"""Small statistics: medians, percentiles, spread."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated figures; cv is stdev / mean (pyperf's instability test)."""

    median: float
    low: float
    high: float
    cv: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0.0, 0.0, 0.0, 0.0)
        mean = statistics.fmean(values)
        cv = statistics.stdev(values) / mean if len(values) > 1 and mean else 0.0
        return cls(median(values), min(values), max(values), cv)


# Data quality thresholds, in one place (tested in tests/unit/report/test_report.py).
FAILING_ERROR_RATE = 0.001  # more than 0.1 % of attempts failed: non-2xx answers or socket errors
CLIENT_BOUND_CORES = 0.9  # the load generator used ~ a whole core
NOISY_CV = 0.10  # stdev above 10 % of the mean, as pyperf warns
SHARED_MACHINE = 0.25  # CPU no role accounts for, as a share of all cores: something else ran
# Error kinds counted among the answers (`requests`); every other kind (connect, reset,
# timeout, malformed) is an attempt that got no answer, so it adds to the attempts.
ANSWERED_ERROR_KINDS = frozenset({"non2xx", "redirect"})


def assess_quality(
    *,
    requests: int,
    ok: int,
    client_cores: float,
    client_us_per_request: float | None,
    server_us_per_request: float | None,
    throughput_cv: float,
    overflow_warnings: int,
    errors: dict[str, int] | None = None,
    status_counts: dict[str, int] | None = None,
    redirect_location: str | None = None,
    unattributed_share: float = 0.0,
) -> tuple[str, tuple[str, ...]]:
    """ok / noisy / client-bound / failing, with the reasons (worst first).

    `requests` counts answers (any status); errors of kinds that got no answer (socket
    errors) are attempts too, so 1,000 answers beside 1,350 resets fail at 57 %.
    """
    failing = []
    if redirect_location:
        failing.append(f"the URL redirects to {redirect_location}: load that URL instead")
    unanswered = sum(count for kind, count in (errors or {}).items() if kind not in ANSWERED_ERROR_KINDS)
    attempts = requests + unanswered
    error_rate = (attempts - ok) / attempts if attempts else 1.0
    if attempts == 0 or ok == 0 or error_rate > FAILING_ERROR_RATE:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted((errors or {}).items()) if count)
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted((status_counts or {}).items()))
        percent = f"{100 * error_rate:.1f}" if error_rate >= 0.01 else f"{100 * error_rate:.2f}"
        what = f"{percent} % of requests failed" if attempts else "no answer at all"
        failing.append(what + (f" ({kinds})" if kinds else "") + (f"; statuses {statuses}" if statuses else ""))
    if overflow_warnings:
        failing.append(f"the server's log reports {overflow_warnings} queue overflow(s) or worker deaths")
    if failing:
        return "failing", tuple(failing)
    client_bound = []
    if client_cores >= CLIENT_BOUND_CORES:
        client_bound.append(f"the load generator used {client_cores:.2f} cores")
    if (
        client_us_per_request is not None
        and server_us_per_request is not None
        and client_us_per_request > server_us_per_request
    ):
        client_bound.append(
            f"the load generator spent more CPU per request ({client_us_per_request:.0f} µs)"
            f" than the server ({server_us_per_request:.0f} µs)"
        )
    if client_bound:
        return "client-bound", tuple(client_bound)
    noisy = []
    if throughput_cv > NOISY_CV:
        noisy.append(f"r/s varied {100 * throughput_cv:.0f} % (stdev/mean) between repeats")
    if unattributed_share > SHARED_MACHINE:
        noisy.append(
            f"{100 * unattributed_share:.0f} % of the cores went to no measured role:"
            " another process shared the machine"
        )
    return ("noisy", tuple(noisy)) if noisy else ("ok", ())
