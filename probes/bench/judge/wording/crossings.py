"""The sentences of the ASGI crossings (judge/crossings.py): appended to a run's why and advice."""

from __future__ import annotations

from ...servers.kinds import KINDS
from ..crossings import CROSSING_COST_S, THREAD_COST_S, Crossings
from .verdicts import short


def _what(name: str) -> tuple[str, bool]:
    """(how the name reads, whether it is a sync middleware) of one 'kind:name'."""
    kind, _, rest = name.partition(":")
    if kind == "middleware":
        return rest.rpartition(".")[0], True
    if kind == "view":
        return "the sync view", False
    if kind == "signal":
        return rest, False
    short_name = rest.rpartition(".")[2]
    return short_name, False


def _names(found: Crossings) -> list[tuple[str, float, bool]]:
    """What crossed, grouped (a middleware's hooks together), the middleware first: (words, per request, middleware)."""
    grouped: dict[str, list[float | bool]] = {}
    for name, per_request in found.by_name:
        words, middleware = _what(name)
        entry = grouped.setdefault(words, [0.0, middleware])
        entry[0] = float(entry[0]) + per_request
    rows = [(words, float(n), bool(middleware)) for words, (n, middleware) in grouped.items()]
    return sorted(rows, key=lambda row: not row[2])  # otherwise in the order they crossed


def _ms(seconds: float) -> str:
    """'0.93 ms': a request's CPU under ASGI is about a millisecond, a tenth would hide the crossings' share."""
    return f"{seconds * 1000:.2f} ms"


def _count(n: float) -> str:
    return f"{n:.0f}" if abs(n - round(n)) < 0.05 else f"{n:.1f}"


def crossings_why(found: Crossings) -> str:
    """'7 sync↔async crossings and 2 new threads per request (SecurityMiddleware ×2, ..., close): about ...'."""
    # What crossed in fewer than 1 request in 10 (request_finished on a disconnect) is left out of the list.
    listed = [(words, n) for words, n, _ in _names(found) if n >= 0.1]
    names = ", ".join(f"{words} ×{_count(n)}" if round(n) > 1 else words for words, n in listed)
    plural = "s" if round(found.threads) != 1 else ""
    of = f" of the {_ms(found.app_cpu_s)}" if found.app_cpu_s else ""
    estimated = min(found.estimated_s, found.app_cpu_s) if found.app_cpu_s else found.estimated_s
    return (
        f"{_count(found.crossings)} sync↔async crossings and {_count(found.threads)} new thread{plural} per request"
        f" ({names}): about {_ms(estimated)}{of} (a crossing ~{short(CROSSING_COST_S)}, a new thread"
        f" ~{short(THREAD_COST_S)} of CPU on this machine, measured by benchmarks/asgi_timing_overhead.py)"
    )


def crossings_advice(found: Crossings) -> str:
    """What would remove them: async-capable middleware, an async view."""
    middleware = [words for words, _, is_middleware in _names(found) if is_middleware]
    view = any(name.startswith("view:") for name, _ in found.by_name)
    steps = []
    if middleware:
        steps.append(f"async-capable middleware in place of {', '.join(middleware)}")
    if view:
        steps.append("an async view")
    if not steps:
        return "the crossings left are Django's own (request_started's sync receivers, response.close())"
    return f"fewer crossings under ASGI: {' and '.join(steps)}"


def with_crossings(why: str, advice: str, found: Crossings) -> tuple[str, str]:
    """A verdict's (why, advice) with the crossings' sentences appended."""
    return f"{why}; {crossings_why(found)}", f"{advice}; {crossings_advice(found)}"


# A profile's thread groups (measure/speedscope.THREAD_GROUPS) as they read for an ASGI worker.
_ASGI_THREADS = {"main thread": "event loop", "executor threads": "asgiref executor threads"}


def thread_shares_text(kind: str, threads: dict[str, float]) -> str:
    """' by thread: event loop 38 %, asgiref executor threads 62 %;' for a profile's busy samples, or ''."""
    if not threads:
        return ""
    asgi = (found := KINDS.get(kind)) is not None and found.interface == "asgi"
    names = _ASGI_THREADS if asgi else {}
    shares = ", ".join(f"{names.get(group, group)} {100 * share:.0f} %" for group, share in threads.items())
    return f" by thread: {shares};"
