"""The sentence of the timing wrapper's cost under load (judge/instrument.py)."""

from __future__ import annotations

from ..instrument import InstrumentUnderLoad
from .pairs import change_text


def instrument_line(found: InstrumentUnderLoad) -> str:
    """'timing wrapper under load, uwsgi w1 nginx/tcp (6 timed/plain pairs): r/s B is …; the server's CPU per
    request +1.8 µs (95 %: −4.0 to +7.1 µs), 2.2 µs in-process: 2.2 µs booked'."""
    head = f"timing wrapper under load, {found.label} ({found.rps.pairs} timed/plain pairs)"
    rps = "r/s " + change_text(found.rps).replace("B is", "timed is")
    if found.cpu_us is None:
        return f"{head}: {rps}; the server's CPU was not measured"
    cpu = f"the server's CPU per request {found.cpu_us:+.1f} µs"
    if found.cpu_low_us is not None and found.cpu_high_us is not None:
        cpu += f" (95 %: {found.cpu_low_us:+.1f} to {found.cpu_high_us:+.1f} µs)"
    cpu = cpu.replace("-", "−")
    if found.in_process_us is None:
        return f"{head}: {rps}; {cpu}; nothing booked (no in-process figure: the app's CPU includes the wrapper)"
    said = f"{head}: {rps}; {cpu}, {found.in_process_us:.1f} µs in-process"
    if found.proven_above:
        return f"{said}: more in the server, {found.booked_us:.1f} µs booked as the instrument"
    return f"{said}: {found.booked_us:.1f} µs booked (the pairs agree or cannot tell)"
