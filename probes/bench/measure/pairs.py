"""Two versions of the project up at once, measured in interleaved pairs of windows (--against).

Windows alternate A B B A A B B A … (ABBA): a drift that is linear over a block of two pairs adds
as much to B's side in one pair as it takes in the next, so it cancels in the pairs' median, where
two runs made minutes apart measure it (issue 24). Each window is sized by requests from its own
side's last throughput (as measure/sweep.py sizes them); each side keeps its own run, judged and
diagnosed as any run (its own t0 and timing wrapper's cost).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ..judge.quality import assess, shared_window
from ..loadgen import LoadgenError
from ..loadgen.plan import LoadPlan, rps_from_t0
from ..model.diagnosis import ViewTime
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
    service_pids: dict[str, int],
    progress: Progress,
) -> dict[str, Run]:
    """Start both sides' configuration, warm each, measure `pairs` pairs in ABBA order, read their memory,
    stop them; each side's Run (labelled "A: …", "B: …"), judged and diagnosed. A load that fails ends both
    runs with what was measured before it, and the error."""
    base = {side: replace(unmeasured_run(config, plan), label=f"{side}: {config.label}") for side in SIDES}
    samples: dict[str, list[Sample]] = {side: [] for side in SIDES}
    stacks: dict[str, Stack] = {}
    set_aside = [0]
    error = ""
    try:
        for side in SIDES:  # both up at once, on their own ports and run directories
            stacks[side] = sides[side].start(config)
        try:
            _windows(config, plan, stacks, sides, pairs, service_pids, samples, progress, set_aside)
        except LoadgenError as exc:
            error = str(exc)
        memory = {side: measure_tree_memory(stack.server.pid) for side, stack in stacks.items()}
        fronts = {side: measure_tree_memory(stack.front.pid) for side, stack in stacks.items() if stack.front}
    finally:
        for stack in stacks.values():
            stack.stop()
    runs = {}
    for side in SIDES:
        run = replace(
            base[side],
            samples=tuple(samples[side]),
            memory=memory[side],
            nginx_memory=fronts.get(side, base[side].nginx_memory),
            warnings=tuple(stacks[side].log_warnings()),
            error=error,
            set_aside=set_aside[0],
        )
        quality, reasons = assess(run)
        runs[side] = diagnosed(replace(run, quality=quality, quality_reasons=reasons), sides[side].t0)
    return runs


def _windows(
    config: ServerConfig,
    plan: LoadPlan,
    stacks: Mapping[str, Stack],
    sides: Mapping[str, Side],
    pairs: int,
    service_pids: dict[str, int],
    samples: dict[str, list[Sample]],
    progress: Progress,
    set_aside: list[int],
) -> None:
    """The warm-ups, then the windows in ABBA order, appended to samples[side] as they finish.

    A pair with a window another process shared (judge/quality.py) is set aside and measured again in the
    same order, at most pairs // 2 times in all; set_aside[0] counts them."""
    concurrency = plan.concurrency_for(config)
    pins = pinning(os.sched_getaffinity(0)) if plan.pin else None
    client_cores = pins[0] if pins else None
    for stack in stacks.values():
        if pins:
            pin_stack(stack, pins[1])
    capacity, cores = config.workers * config.threads, len(os.sched_getaffinity(0))
    wsgi = get_kind(config.kind).interface == "wsgi"
    rps: dict[str, float | None] = {}
    for side, stack in stacks.items():
        t0 = sides[side].t0
        expected = (
            rps_from_t0(wall_s=t0.wall_s, cpu_s=t0.cpu_s, concurrency=concurrency, capacity=capacity, cores=cores)
            if t0
            else None
        )
        rps[side] = warm_up(plan, stack, concurrency, client_cores, expected)
    target = plan.window_requests(concurrency)
    order = abba(pairs)

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

    again = pairs // 2  # pairs another process shared, measured again at most this often
    for index in range(pairs):
        pair_order = order[2 * index : 2 * index + 2]
        while True:
            progress(f"    pair {index + 1}/{pairs} ({pair_order})")
            measured = {side: window(side) for side in pair_order}
            if again <= 0 or not any(shared_window(sample) for sample in measured.values()):
                break
            again -= 1  # the judge's rule for a window another process shared: set the pair aside
            set_aside[0] += 1
        for side, sample in measured.items():
            samples[side].append(sample)
