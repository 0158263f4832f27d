"""The sentence of what a locust load cost its client (judge/client_cost.py)."""

from __future__ import annotations

from ..client_cost import ClientCost


def client_cost_text(cost: ClientCost) -> str:
    """'locust's workers needed 1.6 cores for 2,658 r/s (602 µs of CPU per request); wrk on this URL: 9 µs
    per request, 0.02 cores at that rate (locust 65x)'."""
    said = (
        f"locust's workers needed {cost.cores:.2f} cores for {cost.rps:,.0f} r/s"
        f" ({cost.us_per_request:,.0f} µs of CPU per request)"
    )
    if cost.reference_us is None or cost.wrk_cores is None or cost.times_wrk is None:
        return f"{said}; wrk's was not measured (wrk is not installed, or a --locustfile's flow has no one URL)"
    return (
        f"{said}; wrk on this URL: {cost.reference_us:,.1f} µs per request, {cost.wrk_cores:.2f} cores at that"
        f" rate (locust {cost.times_wrk:,.0f}x)"
    )
