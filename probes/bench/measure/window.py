"""One measured window: the load, the CPU of every role, the app's own counters, the run queue."""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass, field, fields, replace

from ..loadgen import LoadResult, LoadSpec, start_load
from ..loadgen.hosts import Remote
from ..loadgen.locust.setup import LocustSetup
from ..loadgen.remote import Hook, drive_remote
from ..model.app import AppTotals
from ..model.diagnosis import LOCUST_MASTER_ROLE
from ..model.results import Sample
from ..servers.stack import Stack
from ..timing import reader
from .cpu import CpuSnapshot, snapshot_cpu
from .cpu_accounting import cpu_between


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def drive(
    spec: LoadSpec,
    generator: str,
    client_cores: set[int] | None,
    *,
    remote: Remote | None = None,
    on_start: Hook | None = None,
    on_end: Hook | None = None,
    locust: LocustSetup | None = None,
) -> LoadResult:
    """Put the spec's load on the server (from the client's cores when pinned); the generator's result.

    on_start/on_end: when the measured window starts and ends as servebench sees it: around the
    local child, or when a client host's child says so (remote.py reads its markers), or on the whole
    seconds locust's driver chose. locust: where its workers run (its master always runs here)."""
    if generator == "locust":
        from ..loadgen.locust.driver import drive_locust

        setup = locust or LocustSetup()
        return drive_locust(spec, setup, client_cores, remote=remote, on_start=on_start, on_end=on_end)
    if remote is not None:
        return drive_remote(remote, spec, generator, client_cores, on_start=on_start, on_end=on_end)
    if on_start:
        on_start()
    with start_load(spec, generator=generator) as load:
        if client_cores is not None:
            # Before it opens a connection: wrk or ab, started by it, inherit the mask.
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(load.pid, client_cores)
        result = load.wait()
    if on_end:
        on_end()
    return result


@dataclass
class _Edges:
    """The snapshots taken when the measured window starts and when it ends."""

    app_before: dict[int, reader.AppCounters] = field(default_factory=dict)
    app_after: dict[int, reader.AppCounters] = field(default_factory=dict)
    runq_before: dict[int, int] = field(default_factory=dict)
    cpu_before: CpuSnapshot | None = None
    cpu_after: CpuSnapshot | None = None
    self_before: float = 0.0
    self_after: float = 0.0


def app_totals(counters: reader.AppCounters) -> AppTotals:
    """The summed counters of a window as a Sample keeps them (the app's wall and CPU estimated from the sampled)."""
    return AppTotals(**{f.name: getattr(counters, f.name) for f in fields(AppTotals)})


def measure_window(
    stack: Stack,
    spec: LoadSpec,
    *,
    generator: str,
    service_pids: dict[str, int],
    client_cores: set[int] | None = None,
    instrument_s_per_request: float | None = None,
    target_requests: int = 0,
    remote: Remote | None = None,
    locust: LocustSetup | None = None,
) -> tuple[Sample, dict[int, reader.AppCounters]]:
    """One measured window: CPU of every role, the app's own counters, the generator's figures.

    service_pids: a role per process tree beside the server (memcached, the database, the profiler).
    target_requests: what the window was sized to complete (kept on the Sample: a capped window shows).
    remote: the client hosts the load comes from (their CPU is not this host's: Sample.client_remote).
    """
    roles = {"server": [stack.server.pid], **{name: [pid] for name, pid in service_pids.items()}}
    if stack.front is not None:
        roles["nginx"] = [stack.front.pid]
    stats_dir = stack.stats_dir
    edges = _Edges()

    def begin() -> None:
        edges.app_before = reader.read_counters(stats_dir) if stats_dir else {}
        # Every process of the server's tree: a worker whose counters file appears within the window counts too.
        edges.runq_before = reader.run_queue_ns(info.pid for info in stack.server.tree()) if stats_dir else {}
        edges.cpu_before, edges.self_before = snapshot_cpu(roles), _self_cpu_s()

    def end() -> None:
        edges.cpu_after, edges.self_after = snapshot_cpu(roles), _self_cpu_s()
        edges.app_after = reader.read_counters(stats_dir) if stats_dir else {}

    result = drive(spec, generator, client_cores, remote=remote, on_start=begin, on_end=end, locust=locust)
    assert edges.cpu_before is not None and edges.cpu_after is not None
    per_process = reader.difference(edges.app_before, edges.app_after) if stats_dir else {}
    runq_after, runq_before = reader.run_queue_ns(per_process), edges.runq_before
    cpu = cpu_between(edges.cpu_before, edges.cpu_after)
    cpu_s = {role.role: role.total_s for role in cpu.roles}
    # The generator reports the CPU of its own measured window (getrusage in
    # the child): its interpreter start-up is not charged to it.
    cpu_s["client"] = (result.cpu_user_s or 0.0) + (result.cpu_system_s or 0.0)
    cpu_s["servebench"] = max(0.0, edges.self_after - edges.self_before)
    if result.master_cpu_s is not None:  # locust's master runs on this host whatever the workers' place
        cpu_s[LOCUST_MASTER_ROLE] = result.master_cpu_s
    machine_busy_s = cpu.machine_busy_s - (remote.here_s(cpu_s["client"]) if remote else 0.0)
    app = reader.total(per_process)
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
        machine_busy_s=machine_busy_s,
        wall_s=cpu.wall_s,
        cores=cpu.cores,
        app=app_totals(app),
        served_by_pid={str(pid): counters.requests for pid, counters in per_process.items() if counters.requests},
        # Over the same interval as the server's CPU: the count its CPU per request is divided by.
        server_requests=app.requests if stats_dir else None,
        target_requests=target_requests,
        unattributed_roles=dict(stack.unattributed),
        per_request=result.per_request,
        client_hosts=result.hosts,
        busiest_client_cpu_s=result.busiest_client_cpu_s,
        load_notes=tuple(result.notes),
        client_remote=remote is not None,
    )
    return sample, per_process
