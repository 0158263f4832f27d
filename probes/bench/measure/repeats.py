"""The warm-up and the repeated windows of one configuration, sized by requests (issue 19).

measure/sweep.py runs them for each configuration, measure/pairs.py for each side of an A/B; the loop
only asks, judge/quality.py decides when the windows are enough and which another process shared.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from ..judge.quality import enough_windows, shared_window
from ..loadgen import LoadResult, LoadSpec
from ..loadgen.plan import LoadPlan
from ..model.results import Sample
from ..servers.argv import SYSTEM_PATH
from ..servers.stack import Stack
from .window import drive


def load_spec(plan: LoadPlan, stack: Stack, concurrency: int, *, duration_s: float) -> LoadSpec:
    """What one drive of a configuration sends: the plan's requests to its stack, for duration_s."""
    return LoadSpec(
        path=plan.path,
        port=stack.port,
        host_header=plan.host_header,
        headers=plan.headers,
        concurrency=concurrency,
        duration_s=duration_s,
        warmup_s=0.0,
        max_requests=plan.max_requests,
        keepalive=plan.keepalive,
        rate=plan.rate,
        timeout_s=plan.timeout_s,
        requests=plan.mix,
    )


def warm_up(
    plan: LoadPlan, stack: Stack, concurrency: int, client_cores: set[int] | None, expected_rps: float | None
) -> float | None:
    """Warm the configuration as a window is sized: window_requests, within the cap; its throughput.

    The first drive lasts warmup_s, or what t0 says the requests need (never past the cap); when it
    completed fewer, a second drive makes up the rest at the rate it measured. None: no warm-up ran.
    """
    if plan.warmup_s <= 0:
        return expected_rps
    target, cap_s = plan.window_requests(concurrency), plan.window_cap_s

    def load(seconds: float) -> LoadResult:
        spec = load_spec(plan, stack, concurrency, duration_s=seconds)
        return drive(spec, plan.generator, client_cores, remote=plan.remote, locust=plan.locust)

    first_s = plan.first_warmup_s(concurrency, expected_rps)
    first = load(first_s)
    rps = first.ok / first.duration_s if first.duration_s > 0 and first.ok else expected_rps
    # Fewer completions than connections: the first second's rate is its edges; t0's stands.
    if first.ok < concurrency and expected_rps:
        rps = expected_rps
    if first.requests < target and rps:
        rest_s = min(cap_s - first_s, plan.window_s(concurrency, rps) * (1 - first.requests / target))
        if rest_s > 0.2:
            again = load(rest_s)
            rps = again.ok / again.duration_s if again.duration_s > 0 and again.ok else rps
    return rps


def repeats(
    measure: Callable[[], Sample], plan: LoadPlan, samples: list[Sample], shared: list[Sample]
) -> tuple[list[Sample], list[Sample]]:
    """The windows: (kept, set aside). The loop only asks; judge/quality.py decides when they are enough
    and which another process shared. The lists fill as it goes, so a failed window keeps the ones before."""
    while len(samples) + len(shared) < plan.most_windows:
        sample = measure()
        (shared if shared_window(sample) else samples).append(sample)
        if enough_windows(samples, least=plan.repeat):
            break
    if not samples:  # every window shared: keep the last ones asked for; the run says the machine was shared
        samples[:], shared[:] = shared[-plan.repeat :], shared[: -plan.repeat]
    return samples, shared


REFERENCE_S = 0.5  # the wrk drive beside a locust run: long enough for its CPU per request, short in the budget


def reference_client_us(plan: LoadPlan, stack: Stack, concurrency: int, client_cores: set[int] | None) -> float | None:
    """wrk's CPU µs per request on this stack, from this host (None: wrk not installed, or it served nothing).

    Beside --loadgen locust, so the report can say what the same load costs a C client."""
    if shutil.which("wrk", path=SYSTEM_PATH) is None:
        return None
    result = drive(load_spec(plan, stack, concurrency, duration_s=REFERENCE_S), "wrk", client_cores)
    cpu_s = (result.cpu_user_s or 0.0) + (result.cpu_system_s or 0.0)
    return 1e6 * cpu_s / result.requests if result.requests and cpu_s > 0 else None
