"""One sweep: for each configuration start, warm up, load, sample, stop; then judge and diagnose.

The engine never prints: progress goes through a callback, and every finished
Run goes to `on_run` at once, judged (its data quality) and diagnosed (its
verdict), so a crash or Ctrl-C keeps what was measured.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from . import appstats
from .diagnosis import diagnose, t0_from_runs
from .frontends import SYSTEM_PATH
from .loadgen import LoadgenError, LoadResult, LoadSpec, start_load
from .memory import measure_tree_memory
from .metrics import cpu_between, snapshot_cpu
from .model import Failure, Run, Sample, ViewTime
from .servers import ServerConfig
from .stack import Stack
from .stats import Spread, assess_quality


@dataclass(frozen=True)
class LoadPlan:
    """How each configuration is loaded."""

    path: str
    host_header: str
    generator: str = "builtin"
    concurrency: int | None = None  # None: above the worker count (2 x workers x threads, at least 8)
    duration_s: float = 2.0
    warmup_s: float = 1.0
    repeat: int = 3
    keepalive: bool = True
    rate: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    max_requests: int = 1_000_000
    timeout_s: float = 10.0
    pin: bool = False  # the load generator on the last core, servers and nginx on the others
    instrument_s_per_request: float | None = None  # the timing wrapper's own CPU, measured in-process
    timing: bool = True  # the servers run the timing wrapper (False: --no-timing, the plain app)

    def concurrency_for(self, config: ServerConfig) -> int:
        return self.concurrency or max(8, 2 * config.workers * config.threads)

    def seconds_per_config(self) -> float:
        """A rough estimate for progress lines: start, warm-up, windows, memory, stop."""
        return 3.0 + self.warmup_s + self.repeat * (self.duration_s + 0.3)


def default_generator() -> str:
    """wrk when installed (the built-in client trails it by up to 25 % on connection-per-request
    servers, benchmarks/loadgen_vs_wrk.py), else the built-in one."""
    return "wrk" if shutil.which("wrk", path=SYSTEM_PATH) else "builtin"


StartStack = Callable[[ServerConfig], Stack]
Progress = Callable[[str], None]  # the engine's one way to speak: a line of progress
Explain = Callable[[Run], Failure | None]  # what broke in a failing run (the launcher knows its logs)


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spec(plan: LoadPlan, stack: Stack, concurrency: int, *, duration_s: float) -> LoadSpec:
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
    )


def pinning(cores: set[int]) -> tuple[set[int], set[int]] | None:
    """(client cores, server cores) for --pin, or None with fewer than 2 cores."""
    if len(cores) < 2:
        return None
    last = max(cores)
    return {last}, cores - {last}


def pin_stack(stack: Stack, server_cores: set[int]) -> None:
    """Pin every process of the server's and nginx's sessions; workers forked later inherit it."""
    for child in (stack.server, stack.front):
        if child is None:
            continue
        for info in child.session():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.sched_setaffinity(info.pid, server_cores)


def _load(spec: LoadSpec, generator: str, client_cores: set[int] | None) -> LoadResult:
    with start_load(spec, generator=generator) as load:
        if client_cores is not None:
            # Before it opens a connection: wrk or ab, started by it, inherit the mask.
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(load.pid, client_cores)
        return load.wait()


def measure_window(
    stack: Stack,
    spec: LoadSpec,
    *,
    generator: str,
    service_pids: dict[str, int],
    client_cores: set[int] | None = None,
    instrument_s_per_request: float | None = None,
) -> tuple[Sample, dict[int, appstats.AppCounters]]:
    """One measured window: CPU of every role, the app's own counters, the generator's figures."""
    roles = {"server": [stack.server.pid], **{name: [pid] for name, pid in service_pids.items()}}
    if stack.front is not None:
        roles["nginx"] = [stack.front.pid]
    stats_dir = stack.stats_dir
    app_before = appstats.read_counters(stats_dir) if stats_dir else {}
    # Every process of the server's tree: a worker whose counters file appears within the window counts too.
    runq_before = appstats.run_queue_ns(info.pid for info in stack.server.tree()) if stats_dir else {}
    cpu_before, self_before = snapshot_cpu(roles), _self_cpu_s()
    result = _load(spec, generator, client_cores)
    cpu_after, self_after = snapshot_cpu(roles), _self_cpu_s()
    per_process = appstats.window(app_before, appstats.read_counters(stats_dir)) if stats_dir else {}
    runq_after = appstats.run_queue_ns(per_process)
    cpu = cpu_between(cpu_before, cpu_after)
    cpu_s = {role.role: role.total_s for role in cpu.roles}
    # The generator reports the CPU of its own measured window (getrusage in
    # the child): its interpreter start-up is not charged to it.
    cpu_s["client"] = (result.cpu_user_s or 0.0) + (result.cpu_system_s or 0.0)
    cpu_s["servebench"] = max(0.0, self_after - self_before)
    app = appstats.total(per_process)
    if instrument_s_per_request and "server" in cpu_s:
        # The timing wrapper runs in the server's processes: its cost is a role of
        # its own, never the view's (which it does not time) nor the server's.
        cpu_s["instrument"] = min(cpu_s["server"], instrument_s_per_request * app.requests)
        cpu_s["server"] -= cpu_s["instrument"]
    runq_ns = sum(max(0, runq_after[pid] - runq_before.get(pid, 0)) for pid in runq_after)
    server_cpu_ns = 1e9 * (cpu_s.get("server", 0.0) + cpu_s.get("instrument", 0.0))
    if runq_ns and server_cpu_ns:
        # Read per process from outside; the app's part of it in proportion to its CPU.
        app = replace(app, app_runq_ns=round(runq_ns * min(1.0, app.app_cpu_ns / server_cpu_ns)))
    sample = Sample(
        generator=result.generator,
        duration_s=result.duration_s,
        requests=result.requests,
        ok=result.ok,
        errors=dict(result.errors),
        status_counts={str(code): count for code, count in result.status_counts.items()},
        redirect_location=result.redirect_location,
        latency_ms=dict(result.latency_ms),
        cpu_s=cpu_s,
        machine_busy_s=cpu.machine_busy_s,
        wall_s=cpu.wall_s,
        cores=cpu.cores,
        app=app.to_dict(),
        served_by_pid={str(pid): counters.requests for pid, counters in per_process.items() if counters.requests},
    )
    return sample, per_process


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


def measure_config(config: ServerConfig, plan: LoadPlan, *, start: StartStack, service_pids: dict[str, int]) -> Run:
    """Start one configuration, warm it, measure plan.repeat windows, take its memory, stop it."""
    concurrency = plan.concurrency_for(config)
    base = unmeasured_run(config, plan)
    stack = start(config)
    samples: list[Sample] = []
    pins = pinning(os.sched_getaffinity(0)) if plan.pin else None
    client_cores = pins[0] if pins else None
    try:
        if pins:
            pin_stack(stack, pins[1])
        if plan.warmup_s > 0:
            _load(_spec(plan, stack, concurrency, duration_s=plan.warmup_s), plan.generator, client_cores)
        spec = _spec(plan, stack, concurrency, duration_s=plan.duration_s)
        for _ in range(plan.repeat):
            sample, _ = measure_window(
                stack,
                spec,
                generator=plan.generator,
                service_pids=service_pids,
                client_cores=client_cores,
                instrument_s_per_request=plan.instrument_s_per_request if stack.stats_dir else None,
            )
            samples.append(sample)
        # After the windows: USS/PSS readings are slow and must not blur them.
        memory = tuple(p.to_dict() for p in measure_tree_memory(stack.server.pid).processes)
        nginx_memory = tuple(p.to_dict() for p in measure_tree_memory(stack.front.pid).processes) if stack.front else ()
    except LoadgenError as exc:
        stack.stop()
        return replace(base, samples=tuple(samples), error=str(exc), warnings=tuple(stack.log_warnings()))
    finally:
        stack.stop()
    warnings = tuple(stack.log_warnings())
    run = replace(base, samples=tuple(samples), memory=memory, nginx_memory=nginx_memory, warnings=warnings)
    quality, reasons = judge(run)
    return replace(run, quality=quality, quality_reasons=reasons)


def judge(run: Run) -> tuple[str, tuple[str, ...]]:
    """The run's data quality from its samples (medians over the repeats)."""
    samples = run.samples
    if not samples:
        return "failing", (run.error or "nothing was measured",)
    client_cores = Spread.of([s.cpu_s.get("client", 0.0) / s.duration_s for s in samples if s.duration_s]).median
    client_us = [v for s in samples if (v := s.cpu_us_per_request("client")) is not None]
    server_us = [v for s in samples if (v := s.cpu_us_per_request("server")) is not None]
    return assess_quality(
        requests=sum(s.requests for s in samples),
        ok=sum(s.ok for s in samples),
        client_cores=client_cores,
        client_us_per_request=Spread.of(client_us).median if client_us else None,
        server_us_per_request=Spread.of(server_us).median if server_us else None,
        throughput_cv=Spread.of([s.ok_per_s for s in samples]).cv,
        overflow_warnings=len(run.warnings),
        errors=_summed([s.errors for s in samples]),
        status_counts=_summed([s.status_counts for s in samples]),
        redirect_location=next((s.redirect_location for s in samples if s.redirect_location), None),
        unattributed_share=Spread.of(
            [max(0.0, s.unexplained_cpu_s) / (s.wall_s * s.cores) for s in samples if s.wall_s and s.cores]
        ).median,
    )


def _summed(counts: Sequence[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for item in counts:
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    return total


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
) -> list[Run]:
    """Measure every configuration in turn; each Run reaches on_run judged and diagnosed.

    Each configuration runs at each concurrency level (None: the plan's). A configuration that
    fails to start is a failing Run; `explain` says what broke in a failing one. t0 is the
    view's uncontended time (in-process); without it, the app's own time in a 1-worker run
    of the sweep stands in.
    """
    runs: list[Run] = []
    started = time.monotonic()
    todo = [(config, level) for config in configs for level in levels]
    for index, (config, level) in enumerate(todo):
        left_s = (len(todo) - index) * plan.seconds_per_config()
        at = replace(plan, concurrency=level) if level is not None else plan
        label = config.label + (f" c={level}" if len(levels) > 1 else "")
        progress(f"[{index + 1}/{len(todo)}] {label} — about {left_s:.0f} s left")
        try:
            run = measure_config(config, at, start=start, service_pids=service_pids)
        except start_errors as exc:
            run = replace(unmeasured_run(config, at), error=str(exc), quality_reasons=(str(exc).splitlines()[0],))
        run = replace(run, label=label)
        if run.quality == "failing" and explain is not None and (failure := explain(run)) is not None:
            run = replace(run, failure=failure, quality_reasons=(failure.summary, *run.quality_reasons[1:]))
        run = diagnosed(run, t0 or t0_from_runs(run.path, runs))
        runs.append(run)
        on_run(run)
        assert run.diagnosis is not None
        rate = run.diagnosis.figures.throughput_rps if run.samples else 0.0
        progress(f"    {label}: {rate:,.0f} r/s, {run.quality}, {run.verdict}")
    progress(f"done: {len(runs)} configurations in {time.monotonic() - started:.0f} s")
    return runs


def diagnosed(run: Run, t0: ViewTime | None) -> Run:
    """The run with its verdict and the numbers behind it."""
    result = diagnose(run, t0)
    return replace(run, verdict=result.verdict, diagnosis=result)
