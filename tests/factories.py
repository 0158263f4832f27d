"""Results built in memory for the unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure.sweep import unmeasured_run
from probes.bench.model.app import AppTotals
from probes.bench.model.memory import ProcessMemory, TreeMemory
from probes.bench.model.results import Metadata, Run, Sample
from probes.bench.servers.kinds import ServerConfig

METADATA = Metadata(
    created_utc="2026-11-26T00:00:00+00:00",
    hostname="h",
    platform="Linux",
    python="3.11.7",
    cpu_count=2,
    usable_cores=2,
    load_avg_1m=0.1,
    settings_module="settings.test",
    versions={"Django": "5.2"},
)


def gunicorn_run(workers: int, *, path: str, concurrency: int = 8, **changes: Any) -> Run:
    """A gunicorn run behind nginx/tcp loaded by wrk, with the given samples, memory, quality..."""
    plan = LoadPlan(path=path, host_header="127.0.0.1", generator="wrk", concurrency=concurrency)
    return replace(unmeasured_run(ServerConfig("gunicorn", workers, front="nginx"), plan), **changes)


def sample(ok_per_s: float, *, requests: int | None = None, client_s: float = 0.1, server_s: float = 1.0) -> Sample:
    """A 2 s window of wrk at ok_per_s, served by two worker processes."""
    ok = int(ok_per_s * 2)
    return Sample(
        generator="wrk",
        duration_s=2.0,
        requests=ok if requests is None else requests,
        ok=ok,
        errors={} if requests is None else {"non2xx": requests - ok},
        status_counts={"200": ok},
        redirect_location=None,
        latency_ms={"p50": 2.5, "p90": 4.0, "p99": 9.25, "max": 20.0, "mean": 3.0},
        cpu_s={"client": client_s, "nginx": 0.2, "server": server_s},
        machine_busy_s=1.5,
        wall_s=2.0,
        cores=2,
        app=AppTotals(requests=ok),
        served_by_pid={"101": ok // 2, "102": ok - ok // 2},
    )


def process(pid: int, role: str, mb: int) -> ProcessMemory:
    return ProcessMemory(
        pid=pid,
        ppid=1,
        name="x",
        cmdline="x",
        role=role,
        rss_bytes=mb * 2_000_000,
        uss_bytes=mb * 1_000_000,
        pss_bytes=mb * 1_500_000,
        swap_bytes=0,
    )


def run(workers: int, rates: list[float], **changes: object) -> Run:
    """A gunicorn run of the trivial probe with one sample per rate, a master and its workers' memory."""
    memory = TreeMemory((process(1, "master", 10), *(process(100 + i, "worker", 20) for i in range(workers))))
    return gunicorn_run(
        workers,
        path="/probes/trivial/",
        samples=tuple(sample(rate) for rate in rates),
        memory=memory,
        **{"quality": "ok", **changes},
    )
