"""How far to trust a run's data (ok, noisy, client-bound, failing), and whether a job gave a result at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from ..model.results import Failure, Run, Sample, Suite
from ..model.stats import Spread, interval_pct
from .wording import failures as failure_words

# Data quality thresholds, in one place (tested in tests/unit/report/test_report.py).
FAILING_ERROR_RATE = 0.001  # more than 0.1 % of attempts failed: non-2xx answers or socket errors
CLIENT_BOUND_CORES = 0.9  # the load generator used ~ a whole core
SURE_PCT = 3.0  # more windows run until half the median r/s's 95 % interval is within 3 % of it (or the cap)
# noisy: after the most windows, the interval is still wider than this. On these 2-core VMs the r/s of one
# quiet configuration drifts 3-10 % from window to window (issue 19's close: 12 of 20 default rows were
# wider than ±3 % after 6 windows of 2 s), so ±3 % would flag the machine, not the row; ±10 % is pyperf's
# instability line (stdev above 10 % of the mean) at the interval's scale.
NOISY_PCT = 10.0
SHARED_MACHINE = 0.25  # CPU no role accounts for, as a share of all cores: something else ran
# Error kinds counted among the answers (`requests`); every other kind (connect, reset,
# timeout, malformed) is an attempt that got no answer, so it adds to the attempts.
ANSWERED_ERROR_KINDS = frozenset({"non2xx", "redirect"})


def _failing(
    *,
    requests: int,
    ok: int,
    overflow_warnings: int,
    errors: dict[str, int],
    status_counts: dict[str, int],
    redirect_location: str | None,
) -> list[str]:
    """Why the run is failing (empty: it is not)."""
    failing = []
    if redirect_location:
        failing.append(f"the URL redirects to {redirect_location}: load that URL instead")
    unanswered = sum(count for kind, count in errors.items() if kind not in ANSWERED_ERROR_KINDS)
    attempts = requests + unanswered
    error_rate = (attempts - ok) / attempts if attempts else 1.0
    if attempts == 0 or ok == 0 or error_rate > FAILING_ERROR_RATE:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(errors.items()) if count)
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(status_counts.items()))
        percent = f"{100 * error_rate:.1f}" if error_rate >= 0.01 else f"{100 * error_rate:.2f}"
        what = f"{percent} % of requests failed" if attempts else "no answer at all"
        failing.append(what + (f" ({kinds})" if kinds else "") + (f"; statuses {statuses}" if statuses else ""))
    if overflow_warnings:
        failing.append(f"the server's log reports {overflow_warnings} queue overflow(s) or worker deaths")
    return failing


def assess_quality(
    *,
    requests: int,
    ok: int,
    client_cores: float,
    client_us_per_request: float | None,
    server_us_per_request: float | None,
    rps_interval_pct: float | None,
    windows: int,
    overflow_warnings: int,
    errors: dict[str, int] | None = None,
    status_counts: dict[str, int] | None = None,
    redirect_location: str | None = None,
    unattributed_share: float = 0.0,
    set_aside: int = 0,
    unattributed_roles: dict[str, str] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """ok / noisy / client-bound / failing, with the reasons (worst first).

    `requests` counts answers (any status); errors of kinds that got no answer (socket
    errors) are attempts too, so 1,000 answers beside 1,350 resets fail at 57 %.
    """
    failing = _failing(
        requests=requests,
        ok=ok,
        overflow_warnings=overflow_warnings,
        errors=errors or {},
        status_counts=status_counts or {},
        redirect_location=redirect_location,
    )
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
    if rps_interval_pct is not None and rps_interval_pct > NOISY_PCT:
        noisy.append(
            f"the median r/s is known to ±{rps_interval_pct:.1f} % (95 % interval) after {windows} windows,"
            f" wider than ±{NOISY_PCT:.0f} %"
        )
    if set_aside and windows < 2:
        noisy.append(
            f"only {windows} window ran while no other process took ≥ {100 * SHARED_MACHINE:.0f} % of the cores"
            f" ({set_aside} set aside): no interval"
        )
    if unattributed_share > SHARED_MACHINE:
        # A service of the project whose process was not found (a database on another user's socket):
        # its CPU is the unattributed part, so that is no sign of another process.
        cause = (
            "; ".join(f"the {role}'s CPU could not be attributed ({how})" for role, how in unattributed_roles.items())
            if unattributed_roles
            else "another process shared the machine"
        )
        noisy.append(f"{100 * unattributed_share:.0f} % of the cores went to no measured role: {cause}")
    return ("noisy", tuple(noisy)) if noisy else ("ok", ())


def assess(run: Run) -> tuple[str, tuple[str, ...]]:
    """The run's data quality from its samples (medians over the repeats)."""
    samples = run.samples
    if not samples:
        return "failing", (run.error or "nothing was measured",)
    client_cores = Spread.of([_busiest_client_s(s) / s.duration_s for s in samples if s.duration_s]).median
    # A client on other hosts shares no core with the server: its CPU per request beside the server's says
    # nothing of this host; only a client host that used its whole core bounds the run.
    remote = any(s.client_remote for s in samples)
    client_us = [v for s in samples if not remote and (v := s.cpu_us_per_request("client")) is not None]
    server_us = [v for s in samples if (v := s.cpu_us_per_request("server")) is not None]
    return assess_quality(
        requests=sum(s.requests for s in samples),
        ok=sum(s.ok for s in samples),
        client_cores=client_cores,
        client_us_per_request=Spread.of(client_us).median if client_us else None,
        server_us_per_request=Spread.of(server_us).median if server_us else None,
        rps_interval_pct=run.summary.rps_interval_pct,
        windows=len(samples),
        overflow_warnings=len(run.warnings),
        errors=_summed([s.errors for s in samples]),
        status_counts=_summed([s.status_counts for s in samples]),
        redirect_location=next((s.redirect_location for s in samples if s.redirect_location), None),
        unattributed_share=Spread.of([s.unattributed_share for s in samples if s.wall_s and s.cores]).median,
        set_aside=run.set_aside,
        unattributed_roles={role: how for s in samples for role, how in s.unattributed_roles.items()},
    )


def _busiest_client_s(sample: Sample) -> float:
    """The client's CPU in a window: with several client hosts, the busiest one's (client-bound is per host)."""
    if sample.busiest_client_cpu_s is not None:
        return sample.busiest_client_cpu_s
    return sample.cpu_s.get("client", 0.0)


def shared_window(sample: Sample) -> bool:
    """Another process took >= 25 % of the cores in this window: set it aside and measure again.

    Not when a service of the project could not be found: its CPU is in the unattributed share, so the
    share says nothing of other processes, and measuring again would only find the same.
    """
    return not sample.unattributed_roles and sample.unattributed_share >= SHARED_MACHINE


def enough_windows(samples: Sequence[Sample], *, least: int) -> bool:
    """The repeats can stop: at least `least` windows, and the median r/s sure to ±3 % (95 %).

    With least 1 (--repeat 1) one window is what was asked for: no interval to wait on.
    """
    if len(samples) < least:
        return False
    if least < 2:
        return True
    pct = interval_pct([s.ok_per_s for s in samples])
    return pct is not None and pct <= SURE_PCT


def _summed(counts: Sequence[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for item in counts:
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    return total


def failure_head(run: Run) -> str | None:
    """The first line of what broke in a failing run (its first reason), None when it did not fail."""
    if run.quality != "failing":
        return None
    return run.quality_reasons[0] if run.quality_reasons else "failing"


def with_failure(run: Run, failure: Failure) -> Run:
    """The failing run with what broke: the failure's summary says it first, in place of the first reason."""
    return replace(run, failure=failure, quality_reasons=(failure.summary, *run.quality_reasons[1:]))


@dataclass(frozen=True)
class Ended:
    """A process a configuration depends on that was found ended while it was measured (the facts; no words).

    role: server, nginx, worker (of the server), or a service beside them (memcached, database);
    name: the child's name (gunicorn-41234; a worker's: its server's); returncode: as subprocess
    says it (-9: SIGKILL), None when it is not ours to wait for (a worker: only its absence is
    known); when: the phase it was found ended in ("during the window", "before this configuration").
    """

    role: str
    name: str
    pid: int
    returncode: int | None
    when: str


# Which ending explains the rest, first: a service's (every request through the server then
# fails), then nginx's (the server behind it sees nothing), then the server's, then a worker's.
_ROLE_ORDER = {"server": 2, "nginx": 1, "worker": 3}


def process_ended(ended: Sequence[Ended], *, oom_kills: int = 0) -> str | None:
    """The cause of a configuration a dying process ended, in one line; None when nothing ended.

    oom_kills: how many processes the kernel's OOM killer ended on this machine meanwhile
    (/proc/vmstat oom_kill). A SIGKILL then, or a worker gone, is named as the OOM killer's.
    """
    if not ended:
        return None
    first = min(ended, key=lambda end: _ROLE_ORDER.get(end.role, 0))
    name = first.name.rsplit("-", 1)[0]  # gunicorn-41234: the kind, without its port
    if first.role == "worker":
        if not oom_kills:
            return None  # a worker the server replaces: its log says so (quality's overflow warnings)
        return failure_words.oom_text(failure_words.oom_worker(first.pid, name), first.when)
    if first.returncode == -9 and oom_kills:
        return failure_words.oom_text(failure_words.who(first.role, name), first.when)
    return failure_words.ended_text(first.role, name, first.returncode, first.when)


class Invalid(StrEnum):
    """Why a job gave no valid result (the command exits non-zero)."""

    CHECKS_FAILED = "checks failed"
    EVERY_RUN_FAILED = "every run failed"
    UNMEASURED = "configurations could not be measured"


@dataclass(frozen=True)
class JobFailure:
    """A job without a valid result: why, and how many of how many."""

    why: Invalid
    count: int
    total: int
    first_unmeasured: Run | None = None  # UNMEASURED: the first configuration that could not be measured


def job_failure(suite: Suite) -> JobFailure | None:
    """Why the job gave no valid result, or None when it gave one."""
    checks = [check for check in suite.checks if not check.ok and check.applicable]
    if checks:
        return JobFailure(Invalid.CHECKS_FAILED, len(checks), len(suite.checks))
    if suite.runs and all(run.quality == "failing" for run in suite.runs):
        return JobFailure(Invalid.EVERY_RUN_FAILED, len(suite.runs), len(suite.runs))
    broken = [run for run in suite.runs if run.error]
    if broken:
        return JobFailure(Invalid.UNMEASURED, len(broken), len(suite.runs), broken[0])
    return None
