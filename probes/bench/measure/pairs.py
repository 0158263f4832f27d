"""Two versions of the project, measured in interleaved pairs of windows (--against).

Windows alternate A B B A A B B A … (ABBA): a drift that is linear over a block of two pairs adds
as much to B's side in one pair as it takes in the next, so it cancels in the pairs' median, where
two runs made minutes apart measure it (issue 24).

Each pair runs on both sides' servers started for it (both up at once, on their own ports and run
directories), warmed, then stopped. A server instance carries an offset of its own for its whole
life (where its processes and memory landed, its hash seeds): ~±2 % on a 2 ms view, as large as the
change a team looks for. Pairs measured on the same two instances all share that offset, so their
interval narrows around it and, with more pairs, claims a difference between identical code more
often (ab_power.py measured 2 in 20 at 16 pairs on one pair of instances). A fresh pair of instances
per pair makes the pairs independent, which the signed-rank interval assumes, and spreads the
offsets into the interval as pyperf spreads its values over worker processes.

Each window is sized by requests from its own side's last throughput (as measure/sweep.py sizes
them); each side keeps its own run, judged and diagnosed as any run (its own t0 and timing
wrapper's cost).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ..judge.pairs import enough_pairs
from ..judge.quality import assess, shared_window
from ..loadgen import LoadgenError
from ..loadgen.plan import LoadPlan, rps_from_t0
from ..model.diagnosis import ViewTime
from ..model.memory import TreeMemory
from ..model.results import Run, Sample
from ..servers.kinds import ServerConfig, get_kind
from ..servers.stack import Stack
from .memory import measure_tree_memory
from .repeats import load_spec, warm_up
from .sweep import Progress, diagnosed, unmeasured_run
from .window import measure_window, pin_stack, pinning

SIDES = ("A", "B")


def abba(pairs: int) -> str:
    """The windows' order for `pairs` pairs: AB, BA, AB, BA, … ("ABBAABBA" for 4)."""
    return "".join("AB" if index % 2 == 0 else "BA" for index in range(pairs))


@dataclass(frozen=True)
class Side:
    """One side of the A/B: how its configuration starts, its t0 and its wrapper's cost (None: not measured)."""

    start: Callable[[ServerConfig], Stack]
    t0: ViewTime | None = None
    instrument_s_per_request: float | None = None


def measure_pairs(
    config: ServerConfig,
    plan: LoadPlan,
    *,
    sides: Mapping[str, Side],
    pairs: int,
    most: int | None = None,
    service_pids: dict[str, int],
    progress: Progress,
) -> dict[str, Run]:
    """`pairs` pairs in ABBA order, or with `most` from `pairs` to `most` until the judge finds the r/s
    interval narrow enough (judge/pairs.enough_pairs), each on both sides' configuration started for it
    (both up at once), warmed, measured and stopped; each side's Run (labelled "A: …", "B: …"), judged and
    diagnosed, with the memory of the last pair's servers. A load that fails ends both runs with what was
    measured before it, and the error."""
    most = pairs if most is None else most
    base = {side: replace(unmeasured_run(config, plan), label=f"{side}: {config.label}") for side in SIDES}
    samples: dict[str, list[Sample]] = {side: [] for side in SIDES}
    rps: dict[str, float | None] = {}
    set_aside = 0  # pairs another process shared, measured again: at most most // 2 in all
    memory: dict[str, TreeMemory] = {}
    fronts: dict[str, TreeMemory] = {}
    warnings: dict[str, list[str]] = {side: [] for side in SIDES}
    error = ""
    order = abba(most)
    upto = str(pairs) if most == pairs else f"{pairs}-{most}"
    for index in range(most):
        if enough_pairs(samples["A"], samples["B"], least=pairs, most=most):
            break
        pair_order = order[2 * index : 2 * index + 2]
        stacks: dict[str, Stack] = {}
        try:
            for side in pair_order:  # started in the pair's order, so neither side is always the older
                stacks[side] = sides[side].start(config)
            try:
                progress(f"    pair {index + 1}/{upto} ({pair_order})")
                again = most // 2 - set_aside
                measured, shared = _pair(config, plan, stacks, sides, service_pids, rps, again, progress)
            except LoadgenError as exc:
                error = str(exc)
            else:
                set_aside += shared
                for side, sample in measured.items():
                    samples[side].append(sample)
            memory = {side: measure_tree_memory(stack.server.pid) for side, stack in stacks.items()}
            fronts = {side: measure_tree_memory(stack.front.pid) for side, stack in stacks.items() if stack.front}
        finally:
            for side, stack in stacks.items():
                stack.stop()
                warnings[side].extend(line for line in stack.log_warnings() if line not in warnings[side])
        if error:
            break
    runs = {}
    for side in SIDES:
        run = replace(
            base[side],
            samples=tuple(samples[side]),
            memory=memory.get(side, base[side].memory),
            nginx_memory=fronts.get(side, base[side].nginx_memory),
            warnings=tuple(warnings[side]),
            error=error,
            set_aside=set_aside,
        )
        quality, reasons = assess(run)
        runs[side] = diagnosed(replace(run, quality=quality, quality_reasons=reasons), sides[side].t0)
    return runs


def _pair(
    config: ServerConfig,
    plan: LoadPlan,
    stacks: Mapping[str, Stack],
    sides: Mapping[str, Side],
    service_pids: dict[str, int],
    rps: dict[str, float | None],
    again: int,
    progress: Progress,
) -> tuple[dict[str, Sample], int]:
    """One pair on servers just started: both warmed (sized from the last pair's throughput, or t0), then one
    window each in the stacks' order. A pair with a window another process shared (judge/quality.py) is set
    aside and measured again on the same servers, at most `again` times; (the pair, how many were set aside).
    rps[side] follows each window."""
    concurrency = plan.concurrency_for(config)
    pins = pinning(os.sched_getaffinity(0)) if plan.pin else None
    client_cores = pins[0] if pins else None
    for stack in stacks.values():
        if pins:
            pin_stack(stack, pins[1])
    capacity, cores = config.workers * config.threads, len(os.sched_getaffinity(0))
    wsgi = get_kind(config.kind).interface == "wsgi"
    for side, stack in stacks.items():
        t0 = sides[side].t0
        expected = rps.get(side) or (
            rps_from_t0(wall_s=t0.wall_s, cpu_s=t0.cpu_s, concurrency=concurrency, capacity=capacity, cores=cores)
            if t0
            else None
        )
        rps[side] = warm_up(plan, stack, concurrency, client_cores, expected)
    target = plan.window_requests(concurrency)

    def window(side: str) -> Sample:
        stack = stacks[side]
        instrument_s = sides[side].instrument_s_per_request if stack.stats_dir and wsgi else None
        sample, _ = measure_window(
            stack,
            load_spec(plan, stack, concurrency, duration_s=plan.window_s(concurrency, rps[side])),
            generator=plan.generator,
            service_pids=service_pids,
            client_cores=client_cores,
            instrument_s_per_request=instrument_s,
            target_requests=target,
            remote=plan.remote,
            locust=plan.locust,
        )
        rps[side] = sample.ok_per_s or rps[side]
        return sample

    shared = 0
    while True:
        measured = {side: window(side) for side in stacks}
        if shared >= again or not any(shared_window(sample) for sample in measured.values()):
            return measured, shared
        shared += 1  # the judge's rule for a window another process shared: set the pair aside
        progress("    measured again: another process shared that pair's cores")
