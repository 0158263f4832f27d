"""The app's own figures over one measured window, as a Sample keeps them (the timing wrapper's counters)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

CROSSING_KEYS = ("crossings", "new_threads", "counted_requests", "crossed")


@dataclass(frozen=True)
class AppTotals:
    """The timing wrapper's counters summed over the server's processes for one window (ns are nanoseconds).

    The JSON keys are the field names; a key missing from an older result reads as 0.
    """

    requests: int = 0
    sampled_requests: int = 0  # requests whose wall, CPU and queue time were measured
    sampled_wall_ns: int = 0
    sampled_cpu_ns: int = 0
    app_wall_ns: int = 0  # over all requests, estimated from the sampled ones (0: none sampled)
    app_cpu_ns: int = 0  # thread CPU over all requests, estimated likewise
    app_runq_ns: int = 0  # the serving processes' run-queue wait booked to the app (measure.window)
    queue_ns: int = 0  # of the sampled requests that carried nginx's X-Request-Start
    queued_requests: int = 0  # how many those were
    db_ns: int = 0  # every query
    db_queries: int = 0
    exceptions: int = 0  # raised by the app or handled by Django as a 500
    server_errors: int = 0  # 5xx answered by the app
    loop_lag_ns: int = 0  # ASGI: how late the event loop ran its periodic tick, summed
    loop_ticks: int = 0
    # ASGI (probes.bench.timing.crossings), over the sampled requests they were counted on: asgiref's
    # sync<->async crossings, the threads started, and what crossed by name ("middleware:X.process_request")
    crossings: int = 0
    new_threads: int = 0
    counted_requests: int = 0
    crossed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As the JSON keeps it: the crossings' keys only where some were counted (an ASGI run of
        a Django app), so every other result keeps the keys it always had."""
        data = asdict(self)
        if not self.counted_requests:
            for name in CROSSING_KEYS:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppTotals:
        """From a Sample's "app" in the JSON (unknown keys ignored, missing ones 0)."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if "crossed" in values:
            values["crossed"] = dict(values["crossed"])
        return cls(**values)
