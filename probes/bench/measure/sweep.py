"""One sweep: for each configuration start, warm up, load, sample, stop; then judge and diagnose.

The engine never prints: progress goes through a callback, and every finished
Run goes to `on_run` at once, judged (its data quality) and diagnosed (its
verdict), so a crash or Ctrl-C keeps what was measured.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from ..judge import wording
from ..judge.across_runs import with_trends
from ..judge.concurrency import with_advice
from ..judge.figures import t0_from_runs
from ..judge.quality import assess, failure_head, process_ended, with_failure
from ..judge.rules import diagnose
from ..loadgen import LoadgenError
from ..loadgen.plan import LoadPlan, rps_from_t0
from ..model.diagnosis import ViewTime
from ..model.memory import TreeMemory
from ..model.results import Failure, Run, Sample
from ..processes.child import Child
from ..servers.kinds import ServerConfig, get_kind
from ..servers.stack import Stack
from .ended import Watch, ended_services
from .memory import measure_tree_memory
from .pyspy import ProfilerRun, ProfilerUnavailable, Recording
from .repeats import load_spec, reference_client_us, repeats, warm_up
from .speedscope import Profile
from .window import measure_window, pin_stack, pinning

StartStack = Callable[[ServerConfig], Stack]
Progress = Callable[[str], None]  # the engine's one way to speak: a line of progress
Explain = Callable[[Run], Failure | None]  # what broke in a failing run (the launcher knows its logs)


def unmeasured_run(config: ServerConfig, plan: LoadPlan) -> Run:
    """The Run of a configuration before anything was measured."""
    return Run(
        **config.describe(),  # type: ignore[arg-type]
        path=plan.path,
        concurrency=plan.concurrency_for(config),
        keepalive=plan.keepalive,
        generator=plan.generator,
        rate=plan.rate,
        timing=plan.timing,
    )


class Profiling(Protocol):
    """py-spy for --profile: started on a configuration's server, its recording read (the launcher knows where)."""

    def start(self, stack: Stack, *, window_s: float) -> ProfilerRun: ...

    def read(self, recording: Recording, sample: Sample) -> Profile: ...


def _profiled(
    stack: Stack, measure: Callable[[dict[str, int]], Sample], profiling: Profiling, window_s: float
) -> tuple[Sample | None, Profile | None, str]:
    """One more window with py-spy attached: (its sample, the profile, "") or what stopped it, in one line."""
    try:
        profiler = profiling.start(stack, window_s=window_s)
    except ProfilerUnavailable as exc:
        return None, None, str(exc)
    try:
        sample = measure({"profiler": profiler.pid})
    except BaseException:
        with contextlib.suppress(ProfilerUnavailable):
            profiler.finish()
        raise
    try:
        return sample, profiling.read(profiler.finish(), sample), ""
    except (ProfilerUnavailable, ValueError, KeyError, OSError) as exc:
        return sample, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def measure_config(
    config: ServerConfig,
    plan: LoadPlan,
    *,
    start: StartStack,
    service_pids: dict[str, int],
    profiling: Profiling | None = None,
    watched: Mapping[str, Child] | None = None,
    t0: ViewTime | None = None,
) -> Run:
    """Start one configuration, warm it, measure windows until the median r/s is sure (at least plan.repeat,
    at most plan.most_windows; and one profiled with --profile), take its memory, stop it.

    Each window is sized to complete plan.window_requests from the last throughput seen (the warm-up's,
    else t0's estimate); a window another process shared is set aside and measured again (judge/quality.py
    decides both).

    watched: the services servebench started beside the servers (role -> child). A process the
    configuration depends on that dies meanwhile makes it a failing Run that names it, never an
    exception: the sweep goes on with the next configuration.
    """
    base = replace(unmeasured_run(config, plan), max_windows=plan.most_windows)
    watched = watched or {}
    if (cause := process_ended(ended_services(watched, when="before this configuration"))) is not None:
        return _ended_run(base, (), cause, ())
    stack = start(config)
    watch = Watch(stack, watched)
    samples: list[Sample] = []
    shared: list[Sample] = []
    reference: list[float | None] = [None]  # --loadgen locust: wrk's CPU per request here
    phase = ["during the warm-up"]
    try:
        try:
            profiled, memory, nginx_memory = _measure(
                watch, config, plan, service_pids, profiling, (samples, shared), phase, t0, reference
            )
        except Exception as exc:
            if (cause := watch.cause(when=phase[0])) is not None:
                return _ended_run(base, samples, cause, stack.log_warnings())
            if isinstance(exc, LoadgenError):
                return replace(
                    base,
                    samples=tuple(samples),
                    set_aside=len(shared),
                    error=str(exc),
                    warnings=tuple(stack.log_warnings()),
                )
            raise
        if (cause := watch.cause(when="while this configuration was measured")) is not None:
            return _ended_run(base, samples, cause, stack.log_warnings())
    finally:
        stack.stop()
    warnings = tuple(stack.log_warnings())
    base = replace(base, set_aside=len(shared))
    run = replace(base, samples=tuple(samples), memory=memory, nginx_memory=nginx_memory, warnings=warnings)
    run = replace(run, client_reference_us=reference[0])
    run = replace(run, profiled=profiled[0], profile=profiled[1], profile_note=profiled[2])
    quality, reasons = assess(run)
    return replace(run, quality=quality, quality_reasons=reasons)


def _ended_run(base: Run, samples: Sequence[Sample], cause: str, warnings: Sequence[str]) -> Run:
    """A configuration a dying process ended: failing, the cause first, what was measured before it kept."""
    run = replace(base, samples=tuple(samples), error=cause, warnings=tuple(warnings))
    _, reasons = assess(run)
    return replace(run, quality="failing", quality_reasons=(cause, *(r for r in reasons if r != cause)))


def _measure(
    watch: Watch,
    config: ServerConfig,
    plan: LoadPlan,
    service_pids: dict[str, int],
    profiling: Profiling | None,
    windows: tuple[list[Sample], list[Sample]],
    phase: list[str],
    t0: ViewTime | None,
    reference: list[float | None],
) -> tuple[tuple[Sample | None, Profile | None, str], TreeMemory, TreeMemory]:
    """The warm-up, the windows (appended to windows' (kept, set aside) as they finish), the profiled one,
    then the memory; phase[0] says which part is running, for a process that dies meanwhile (watch.check
    after each part)."""
    stack = watch.stack
    concurrency = plan.concurrency_for(config)
    profiled: tuple[Sample | None, Profile | None, str] = (None, None, "")
    pins = pinning(os.sched_getaffinity(0)) if plan.pin else None
    client_cores = pins[0] if pins else None
    if pins:
        pin_stack(stack, pins[1])
    capacity, cores = config.workers * config.threads, len(os.sched_getaffinity(0))
    expected = (
        rps_from_t0(wall_s=t0.wall_s, cpu_s=t0.cpu_s, concurrency=concurrency, capacity=capacity, cores=cores)
        if t0
        else None
    )
    rps = warm_up(plan, stack, concurrency, client_cores, expected)
    # What the same load costs wrk here, for the report to compare; a user flow (--locustfile) has no one URL.
    if plan.generator == "locust" and not (plan.locust and plan.locust.locustfile_text):
        reference[0] = reference_client_us(plan, stack, concurrency, client_cores)
    target = plan.window_requests(concurrency)
    # The wrapper's cost is measured on the WSGI path; under ASGI the app's CPU is the worker's
    # whole CPU per request (asgistats), the wrapper's included: nothing to book apart there.
    wsgi = get_kind(config.kind).interface == "wsgi"
    instrument_s = plan.instrument_for(config.kind) if stack.stats_dir and wsgi else None

    def measure(beside: dict[str, int]) -> Sample:
        nonlocal rps  # each window sized from the last throughput seen
        sample, _ = measure_window(
            stack,
            load_spec(plan, stack, concurrency, duration_s=plan.window_s(concurrency, rps)),
            generator=plan.generator,
            service_pids={**service_pids, **beside},
            client_cores=client_cores,
            instrument_s_per_request=instrument_s,
            target_requests=target,
            remote=plan.remote,
            locust=plan.locust,
        )
        rps = sample.ok_per_s or rps
        watch.check()
        return sample

    watch.check()
    phase[0] = "during the window"
    repeats(lambda: measure({}), plan, *windows)
    if profiling is not None and plan.profile:
        profiled = _profiled(stack, measure, profiling, plan.window_s(concurrency, rps))
        watch.check()
    # After the windows: USS/PSS readings are slow and must not blur them.
    phase[0] = "while its memory was read"
    memory = measure_tree_memory(stack.server.pid)
    nginx_memory = measure_tree_memory(stack.front.pid) if stack.front else TreeMemory()
    return profiled, memory, nginx_memory


def sweep(
    configs: Sequence[ServerConfig],
    plan: LoadPlan,
    *,
    start: StartStack,
    service_pids: dict[str, int],
    progress: Progress,
    on_run: Callable[[Run], None],
    start_errors: tuple[type[BaseException], ...] = (),
    t0: ViewTime | None = None,
    explain: Explain | None = None,
    levels: Sequence[int | None] = (None,),
    profiling: Profiling | None = None,
    watched: Mapping[str, Child] | None = None,
) -> list[Run]:
    """Measure every configuration in turn; each Run reaches on_run judged and diagnosed.

    Each configuration runs at each concurrency level (None: the plan's). A configuration that
    fails to start is a failing Run; `explain` says what broke in a failing one. t0 is the
    view's uncontended time (in-process); without it, the app's own time in a 1-worker run
    of the sweep stands in. Returns the runs again once the findings across them are known
    (trends.py: the scaling over worker counts, the knee over connections).
    """
    runs: list[Run] = []
    started = time.monotonic()
    todo = [(config, level) for config in configs for level in levels]
    for index, (config, level) in enumerate(todo):
        # Windows last until they are sure: after the first configuration, its own pace says what is left.
        per_config_s = (time.monotonic() - started) / index if index else plan.seconds_per_config()
        left_s = (len(todo) - index) * per_config_s
        at = replace(plan, concurrency=level) if level is not None else plan
        label = config.label + (f" c={level}" if len(levels) > 1 else "")
        progress(f"[{index + 1}/{len(todo)}] {label} — about {left_s:.0f} s left")
        try:
            run = measure_config(
                config,
                at,
                start=start,
                service_pids=service_pids,
                profiling=profiling,
                watched=watched,
                t0=t0 or t0_from_runs(at.path, runs),
            )
        except start_errors as exc:
            run = replace(unmeasured_run(config, at), error=str(exc), quality_reasons=(str(exc).splitlines()[0],))
        run = replace(run, label=label)
        if failure_head(run) is not None and explain is not None and (failure := explain(run)) is not None:
            run = with_failure(run, failure)
        run = diagnosed(run, t0 or t0_from_runs(run.path, runs))
        runs.append(run)
        on_run(run)
        assert run.diagnosis is not None
        rate = run.diagnosis.figures.throughput_rps if run.samples else 0.0
        said = wording.progress_text(
            label, rps=rate, quality=run.quality, verdict=run.verdict, reason=failure_head(run) or ""
        )
        progress(f"    {said}")
        if run.profile_note and run.profile_note != (runs[-2].profile_note if len(runs) > 1 else ""):
            progress(f"    {run.profile_note}; going on without a profile")
    progress(f"done: {len(runs)} configurations in {time.monotonic() - started:.0f} s")
    # Across configurations: the scaling over worker counts, the knee over connections.
    return with_trends(runs)


def diagnosed(run: Run, t0: ViewTime | None) -> Run:
    """The run with its verdict and the numbers behind it."""
    result = with_advice(run, diagnose(run, t0))
    return replace(run, verdict=wording.verdict_text(result), diagnosis=result)
