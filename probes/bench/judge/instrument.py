"""The timing wrapper's cost under load, from interleaved timed/plain pairs (--instrument-pairs, issue 19).

In-process, the wrapper's cost is a difference of two CPU clocks over thousands of calls: precise, but
measured outside the server. Under load, in the server, a timed and a plain server of the same
configuration run side by side, their windows in ABBA pairs; the pairs give the r/s ratio and the
difference of the server tree's CPU per request (timed - plain), each with the Hodges-Lehmann estimate
and its exact Wilcoxon 95 % interval (judge/pairs.py).

What is booked as the `instrument` role: the in-process figure, unless the pairs prove the wrapper costs
more in the server (the interval's low end above it, as uWSGI's worker was suspected of, issue 19): then
the pairs' estimate. A noisy difference of two ~300 µs figures never replaces a precise 2 µs one on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..model.results import Sample
from .pairs import PairedChange, hodges_lehmann, judge_pairs


@dataclass(frozen=True)
class InstrumentUnderLoad:
    """One kind's timed/plain pairs: the r/s change, the server's CPU difference and what is booked."""

    label: str  # the configuration measured (the first of its kind)
    kind: str
    rps: PairedChange  # B (timed) against A (plain)
    cpu_us: float | None  # Hodges-Lehmann estimate of the server tree's CPU per request, timed - plain
    cpu_low_us: float | None  # its 95 % interval (None: too few pairs)
    cpu_high_us: float | None
    in_process_us: float | None  # the wrapper's cost measured in-process
    booked_us: float | None  # what the sweep books as the instrument role for this kind (None: nothing)

    @property
    def proven_above(self) -> bool:
        """The pairs prove the wrapper costs more in the server than in-process."""
        if self.in_process_us is None or self.cpu_low_us is None:
            return False  # under ASGI the app's CPU holds the wrapper's: nothing to compare, nothing booked
        return self.cpu_low_us > self.in_process_us


def _server_tree_us(sample: Sample) -> float | None:
    """The server processes' CPU per request served, the wrapper's booked share included."""
    count = sample.completions("server")
    if "server" not in sample.cpu_s or not count:
        return None
    return 1e6 * (sample.cpu_s["server"] + sample.cpu_s.get("instrument", 0.0)) / count


def instrument_under_load(
    label: str, kind: str, plain: Sequence[Sample], timed: Sequence[Sample], *, in_process_us: float | None
) -> InstrumentUnderLoad:
    """Judge one kind's pairs (the i-th plain window with the i-th timed one) and decide what is booked."""
    rps = judge_pairs(plain, timed).throughput
    differences = [
        t - p
        for a, b in zip(plain, timed, strict=False)
        if (p := _server_tree_us(a)) is not None and (t := _server_tree_us(b)) is not None
    ]
    centre, interval = hodges_lehmann(differences) if differences else (None, None)
    low, high = (interval[0], interval[1]) if interval else (None, None)
    found = InstrumentUnderLoad(label, kind, rps, centre, low, high, in_process_us, in_process_us)
    if found.proven_above:
        return InstrumentUnderLoad(label, kind, rps, centre, low, high, in_process_us, centre)
    return found
