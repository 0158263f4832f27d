"""What a run's figures say: t0, the per-request segments, the verdict, and the findings across
configurations (the scaling over worker counts, the knee over connections)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..judge.knee import Knee
from ..judge.scaling import Scaling


@dataclass(frozen=True)
class ViewTime:
    """t0: the view's uncontended cost (seconds), and where it was measured."""

    wall_s: float
    cpu_s: float
    source: str  # "in-process" or "1-worker run"


@dataclass(frozen=True)
class Figures:
    """The per-request segments of one run (medians over its repeats); times in seconds."""

    throughput_rps: float
    response_s: float  # mean latency seen by the client
    in_flight: float  # Little's law: N = X x R
    concurrency: int
    capacity: int  # workers x threads
    cores: int
    busy_fraction: float
    t0_s: float | None
    parallelism: float | None  # X x t0: requests' worth of uncontended work completed at once
    app_wall_s: float | None
    app_cpu_s: float | None
    app_runq_s: float | None  # of the app's wall time, waiting for a CPU (the run queue)
    queue_s: float | None
    db_s: float | None
    queries: float | None
    cpu_per_request_s: dict[str, float]  # by role: view, server (its own, without the view), nginx, ...
    machine_cpu_per_request_s: float
    serving_processes: int = 0  # server processes that completed requests
    process_busy: float = 0.0  # the server's CPU per serving process, in cores
    t0_cpu_s: float | None = None  # t0's CPU (wall minus it: what the view waits for even alone)
    others_busy: float = 0.0  # share of all cores no role of the configuration used (Sample.others_share)


@dataclass(frozen=True)
class Diagnosis:
    """A run's verdict, why, what to do, and the numbers behind it (diagnosis.diagnose)."""

    verdict: str
    why: str
    advice: str
    owner: str | None  # the role with the largest CPU share
    shares: dict[str, float]  # CPU per request by role, fractions of the roles' sum
    server_gain_pct: float | None  # what a zero-cost server could add to X at most
    figures: Figures
    # Across the sweep's configurations of the same server and path (trends.py), when it has them:
    scaling: Scaling | None = None  # over >= 3 worker counts: serial fraction σ, coherency κ, the CPU ceiling
    knee: Knee | None = None  # over >= 3 concurrency levels: the knee, Little's law, queueing only

    def to_dict(self) -> dict[str, Any]:
        """As JSON: the scaling's fit at its top (diagnosis.scaling.serial_fraction), the knee's summary."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("figures", "scaling", "knee")}
        return {
            **data,
            "figures": asdict(self.figures),
            "scaling": self.scaling.to_dict() if self.scaling else None,
            "knee": self.knee.to_dict() if self.knee else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        names = {f.name for f in fields(Figures)}
        values["figures"] = Figures(**{key: value for key, value in data["figures"].items() if key in names})
        values["scaling"] = Scaling.from_dict(data["scaling"]) if data.get("scaling") else None
        values["knee"] = Knee.from_dict(data["knee"]) if data.get("knee") else None
        return cls(**values)
