"""--instrument-pairs N: the timing wrapper's cost measured where it runs, before the sweep (issue 19).

For the first configuration of each kind, a plain server (no wrapper) and a timed one run side by side,
their windows in N ABBA pairs (measure/pairs.py); judge/instrument.py says what the pairs found and what
the sweep books as the `instrument` role of that kind. One line per kind goes into the results' notes.
The pairs measure the first target; the wrapper's code path is the same for every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from ..bench.judge.instrument import InstrumentUnderLoad, instrument_under_load
from ..bench.judge.wording.instrument import instrument_line
from ..bench.loadgen.plan import LoadPlan
from ..bench.measure.pairs import Side, measure_pairs
from ..bench.measure.sweep import Progress
from ..bench.model.diagnosis import ViewTime
from ..bench.servers.kinds import ServerConfig, get_kind
from .launcher import START_ERRORS, Launcher, Proof


def first_of_each_kind(configs: Sequence[ServerConfig]) -> list[ServerConfig]:
    """The first configuration of each kind, in the sweep's order."""
    seen: dict[str, ServerConfig] = {}
    for config in configs:
        seen.setdefault(config.kind, config)
    return list(seen.values())


def instrument_pairs(
    configs: Sequence[ServerConfig],
    load: LoadPlan,
    *,
    launcher: Launcher,
    proof: Proof,
    t0: ViewTime | None,
    service_pids: dict[str, int],
    progress: Progress,
) -> tuple[list[str], tuple[tuple[str, float], ...]]:
    """The pairs of each kind: (one line each for the notes, the instrument booked per WSGI kind in seconds).

    A kind whose servers do not start is said in its line and keeps the in-process figure."""
    lines: list[str] = []
    booked: list[tuple[str, float]] = []
    in_process_s = load.instrument_s_per_request
    for config in first_of_each_kind(configs):
        wsgi = get_kind(config.kind).interface == "wsgi"
        sides = {
            "A": Side(partial(launcher.start, proof=proof, timing=False), t0, None),
            "B": Side(partial(launcher.start, proof=proof, timing=True), t0, in_process_s if wsgi else None),
        }
        progress(f"timing wrapper under load: {load.instrument_pairs} timed/plain pairs of {config.label}")
        try:
            runs = measure_pairs(
                config,
                replace(load, timing=True),
                sides=sides,
                pairs=load.instrument_pairs,
                service_pids=service_pids,
                progress=progress,
            )
        except START_ERRORS as exc:
            lines.append(f"timing wrapper under load, {config.label}: not measured, {str(exc).splitlines()[0]}")
            continue
        found: InstrumentUnderLoad = instrument_under_load(
            config.label,
            config.kind,
            runs["A"].samples,
            runs["B"].samples,
            in_process_us=1e6 * in_process_s if wsgi and in_process_s is not None else None,
        )
        lines.append(instrument_line(found))
        if found.booked_us is not None and found.proven_above:
            booked.append((config.kind, found.booked_us / 1e6))
    return lines, tuple(booked)
