"""What the project's settings explain in a run's figures: a preflight warning tied to the share it caused.

The preflight (probes/checks.py) warns before the sweep; the figures then show what the warned
setting costs. CONN_MAX_AGE=0 (W005) opens a connection per request, a new PostgreSQL backend:
its CPU is the database's. A large database share beside that warning is named as its effect.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from ..model.results import Run
from . import wording

# The database's share of the CPU per request (of the roles' sum, not the unattributed) from which W005
# is named as its cause.
DATABASE_SHARE = 0.25
CONNECTION_PER_REQUEST = "servebench.W005"


def with_preflight(run: Run, warned: Collection[str]) -> Run:
    """The run, its why and advice tying a large database share to CONN_MAX_AGE=0 when W005 was raised."""
    diagnosis = run.diagnosis
    if diagnosis is None or CONNECTION_PER_REQUEST not in warned or not run.samples:
        return run
    # Of the configuration's own roles' CPU: another process's load on the cores must not hide the cause.
    own = {role: s for role, s in diagnosis.figures.cpu_per_request_s.items() if role != "unattributed"}
    share = own.get("database", 0.0) / sum(own.values()) if sum(own.values()) else 0.0
    if share < DATABASE_SHARE:
        return run
    why, advice = wording.connection_per_request(share)
    tied = replace(diagnosis, why=f"{diagnosis.why}; {why}", advice=f"{advice}; {diagnosis.advice}")
    return replace(run, diagnosis=tied)
