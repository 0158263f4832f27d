"""What servebench measures in its own process, without a server: a view's cost (t0, --view-cost)
and the timing wrapper's own cost (the role `instrument`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..bench.loadgen.plan import LoadPlan
from ..bench.loadgen.requests import Request
from ..bench.measure.sweep import Progress
from ..bench.measure.t0 import measure_instrument_cost, measure_view_cost
from ..bench.model.results import InstrumentCost, ViewCost
from ..cli.matrix import Target
from ..conf import get_config
from ..worker.hooks import minimal_django_app, timed_in_process
from .services import JobError

# Above this wall time per call, an A/B on the view cannot resolve the wrapper's µs: its
# jitter is larger (a 49 ms page moved by ±3 ms per block); a minimal Django response is measured instead.
INSTRUMENT_ON_VIEW_MAX_US = 1000.0
# In-process calls of one view stop after this long (warm-up included): its cost is then known to a
# few %, and a 5 s view would otherwise take 35 calls (175 s) before any load. At least twice
# VIEW_COST_MIN_TIME_S, so the setting still says how long a fast view is measured.
T0_MAX_S = 10.0


def view_cost(
    app: object,
    name: str,
    path: str,
    host: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    request: Request | None = None,
) -> ViewCost:
    """One view's cost in-process, with the settings' iteration bounds (and the load's headers and request)."""
    config = get_config()
    return measure_view_cost(
        app,  # type: ignore[arg-type]
        name=name,
        path=path,
        host=host,
        headers=headers,
        request=request,
        warmup=config["VIEW_COST_WARMUP"],
        min_iterations=config["VIEW_COST_MIN_ITERATIONS"],
        min_time_s=config["VIEW_COST_MIN_TIME_S"],
        max_iterations=config["VIEW_COST_MAX_ITERATIONS"],
        max_time_s=max(T0_MAX_S, 2 * config["VIEW_COST_MIN_TIME_S"]),
    )


def capped_note(cost: ViewCost) -> str | None:
    """What the time cap cut short, said with the view's measured time and its calls; None when it did not."""
    if cost.iterations >= get_config()["VIEW_COST_MIN_ITERATIONS"]:
        return None
    return (
        f"view cost of {cost.path} in-process: {cost.wall_us_median / 1e6:,.2f} s per call (median of"
        f" {cost.iterations} measured call(s)), stopped at the {T0_MAX_S:g} s cap"
    )


def check_window(cost: ViewCost, load: LoadPlan) -> None:
    """JobError (one line) before any load when one call of the view outlasts the longest window (windows
    are sized by requests, within their cap) or the request timeout: every window would end with no answer
    at all, which blames the servers."""
    call_s = cost.wall_us_median / 1e6
    cap_s = load.window_cap_s
    window = f"--duration {load.duration_s:g}" + (
        f" (a window lasts at most {cap_s:g} s)" if cap_s > load.duration_s else ""
    )
    limits = [(cap_s, window), (load.timeout_s, f"servebench's request timeout of {load.timeout_s:g} s")]
    for limit_s, name in limits:
        if call_s > limit_s:
            # The cap grows with --duration: ask for the --duration whose cap holds two calls.
            needed = math.ceil(2 * call_s * load.duration_s / cap_s)
            advice = f"; give --duration {needed} or more" if limit_s == cap_s else ""
            raise JobError(
                f"{name}: {cost.path} takes {call_s:,.2f} s per call in-process ({cost.iterations} measured"
                f" call(s)), so no call would finish within it{advice}"
            )


def t0_cost(
    app: object,
    target: Target,
    host: str,
    answered: int | None,
    progress: Progress,
    *,
    load: LoadPlan | None = None,
    unmeasured: Progress | None = None,
) -> ViewCost | None:
    """The target's uncontended cost in-process, called as the load calls it (its headers: a --login-as
    cookie, a --header; its method and body); None when it cannot be called here, said in one line to
    `unmeasured` (default: progress). JobError when a call of it outlasts the load's window (check_window)."""
    say = unmeasured or progress
    headers, request = (load.headers, replace(load, path=target.path).sent) if load is not None else ((), None)
    if load is not None and request is None:
        say("t0 not measured: a --urls mix has no one view to call in-process (each alone: --url with --method)")
        return None
    if answered is None or not 200 <= answered < 300:
        # Its figures would be those of an error page (what broke is said per configuration).
        say(_why_not(target.path, answered, request, headers))
        return None
    progress(f"view cost of {target.path} in-process (t0)")
    try:
        cost = view_cost(app, target.name, target.path, host, headers=headers, request=request)
    except Exception as exc:  # the user's view may need what only a server gives it
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        say(f"t0 not measured: {target.path} raised {type(exc).__name__}{': ' + first if first else ''} in-process")
        return None
    if not 200 <= cost.status < 300:
        say(f"t0 not measured: {target.path} answered {cost.status} in-process once called again (a view that changes)")
        return None
    if (note := capped_note(cost)) is not None:
        progress(note)
    if load is not None:
        check_window(cost, load)
    return cost


def _why_not(path: str, answered: int | None, request: Request | None, headers: Sequence[tuple[str, str]]) -> str:
    """The one line that says why t0 is missing, with the option that would give it where one would."""
    method = request.method if request is not None else "GET"
    if answered is None:
        return f"t0 not measured: {method} {path} raised an exception in-process (see the configurations' failure)"
    hint = ""
    logged_in = any(name.lower() == "cookie" for name, _ in headers)
    if answered in (301, 302, 303, 307, 308) and not logged_in:
        hint = " (a login page? --login-as USERNAME)"
    elif answered == 401:
        hint = " (credentials? --header 'Authorization: ...')"
    elif answered == 403 and method not in ("GET", "HEAD", "OPTIONS") and not logged_in:
        hint = " (CSRF? --login-as USERNAME sends a CSRF token, or make the view csrf_exempt)"
    return f"t0 not measured: {method} {path} answered {answered} in-process{hint}"


def instrument_cost(
    app: object,
    cost: ViewCost,
    host: str,
    run_dir: Path,
    progress: Progress,
    *,
    headers: Sequence[tuple[str, str]] = (),
    request: Request | None = None,
) -> InstrumentCost | None:
    """The timing wrapper's own CPU per request, in-process (plain vs wrapped, alternated): on the target
    view, or on a minimal Django response when the view is too slow for the A/B to resolve µs."""
    # Wall, not CPU: a view that waits (a sleep, a query) jitters by far more than its CPU says.
    on_view = cost.wall_us_median <= INSTRUMENT_ON_VIEW_MAX_US
    target, path = (app, cost.path) if on_view else (minimal_django_app, "/")
    # The view as the load calls it; the minimal response is a plain GET.
    sent = {"headers": headers, "request": request} if on_view else {}
    progress(f"the timing wrapper's own cost on {cost.path if on_view else 'a minimal Django response'}, in-process")
    stats_dir = run_dir / "instrument"
    stats_dir.mkdir(mode=0o700, exist_ok=True)
    try:
        with timed_in_process(target, stats_dir) as wrapped:  # type: ignore[arg-type]
            measured = measure_instrument_cost(target, wrapped, path=path, host=host, **sent)  # type: ignore[arg-type]
    except Exception:  # the user's view may need what only a server gives it (t0 said so already)
        return None
    return replace(measured, path=cost.path, reference=None if on_view else "a minimal Django response")
