"""Results built in memory for the unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure.sweep import unmeasured_run
from probes.bench.model.results import Metadata, Run
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
