"""A large database share tied to the CONN_MAX_AGE=0 warning (W005) it comes from (issue 20)."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.rules import diagnose
from probes.bench.judge.settings import with_preflight
from probes.bench.model.diagnosis import ViewTime
from probes.bench.model.results import Run
from tests.unit.bench.judge.test_rules import make_run


def with_database(run: Run, database_ms: float) -> Run:
    """The run with the database's CPU per request, diagnosed."""
    samples = tuple(
        replace(s, cpu_s={**s.cpu_s, "database": database_ms / 1000 * s.requests}, machine_busy_s=s.machine_busy_s)
        for s in run.samples
    )
    run = replace(run, samples=samples)
    return replace(run, diagnosis=diagnose(run, ViewTime(0.011, 0.0105, "in-process")))


def test_a_large_database_share_with_w005_names_connection_set_up() -> None:
    run = with_database(make_run(x=180.0, busy=0.9, app_wall_ms=20, app_cpu_ms=3, server_cpu_ms=3.5), 4.0)
    assert run.diagnosis is not None
    own = {role: s for role, s in run.diagnosis.figures.cpu_per_request_s.items() if role != "unattributed"}
    share = own["database"] / sum(own.values())
    tied = with_preflight(run, {"servebench.W005"})
    assert tied.diagnosis is not None
    assert tied.diagnosis.why == (
        f"{run.diagnosis.why}; database {100 * share:.0f} % of the roles' CPU with CONN_MAX_AGE=0: each request opens a"
        " connection (W005)"
    )
    assert tied.diagnosis.advice.startswith("set CONN_MAX_AGE (e.g. 60) or a connection pool")
    # Without the warning, or with a small database share, nothing is tied.
    assert with_preflight(run, {"servebench.W001"}) == run
    small = with_database(make_run(x=180.0, busy=0.9, app_wall_ms=20, app_cpu_ms=10, server_cpu_ms=10.5), 0.5)
    assert with_preflight(small, {"servebench.W005"}) == small
