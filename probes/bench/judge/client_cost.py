"""What the load cost its client under --loadgen locust, against wrk on the same URL (issue 23).

locust's workers are Python: about 100 µs of CPU per request where wrk spends ~10. The cores the workers
needed say whether a fleet is big enough; wrk's own CPU per request, measured on the same configuration
in a short drive after the warm-up, says when wrk would be the better client.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from ..model.results import Run


@dataclass(frozen=True)
class ClientCost:
    """The workers' CPU over the windows, per request and in cores, and wrk's per request (None: not measured)."""

    cores: float  # the workers' CPU seconds per second of window, all workers together (median of the windows)
    us_per_request: float
    reference_us: float | None
    rps: float

    @property
    def times_wrk(self) -> float | None:
        """How many times wrk's CPU per request the workers spent."""
        return self.us_per_request / self.reference_us if self.reference_us else None

    @property
    def wrk_cores(self) -> float | None:
        """The cores wrk would need for the same r/s."""
        return self.reference_us * self.rps / 1e6 if self.reference_us else None


def client_cost(run: Run) -> ClientCost | None:
    """A locust run's client cost (None for another generator, or without windows)."""
    if run.generator != "locust" or not run.samples:
        return None
    cores = [s.cpu_s["client"] / s.wall_s for s in run.samples if "client" in s.cpu_s and s.wall_s > 0]
    per_request = [us for s in run.samples if (us := s.cpu_us_per_request("client")) is not None]
    if not cores or not per_request:
        return None
    return ClientCost(median(cores), median(per_request), run.client_reference_us, run.summary.rps.median)
