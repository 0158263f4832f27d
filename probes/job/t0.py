"""What servebench measures in its own process, without a server: a view's cost (t0, --view-cost)
and the timing wrapper's own cost (the role `instrument`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..bench.measure.sweep import Progress
from ..bench.measure.t0 import measure_instrument_cost, measure_view_cost
from ..bench.model.results import InstrumentCost, ViewCost
from ..cli.matrix import Target
from ..conf import get_config
from ..worker.hooks import minimal_django_app, timed_in_process

# Above this wall time per call, an A/B on the view cannot resolve the wrapper's µs: its
# jitter is larger (a 49 ms page moved by ±3 ms per block); a minimal Django response is measured instead.
INSTRUMENT_ON_VIEW_MAX_US = 1000.0


def view_cost(app: object, name: str, path: str, host: str) -> ViewCost:
    """One view's cost in-process, with the settings' iteration bounds."""
    config = get_config()
    return measure_view_cost(
        app,  # type: ignore[arg-type]
        name=name,
        path=path,
        host=host,
        warmup=config["VIEW_COST_WARMUP"],
        min_iterations=config["VIEW_COST_MIN_ITERATIONS"],
        min_time_s=config["VIEW_COST_MIN_TIME_S"],
        max_iterations=config["VIEW_COST_MAX_ITERATIONS"],
    )


def t0_cost(app: object, target: Target, host: str, answered: int | None, progress: Progress) -> ViewCost | None:
    """The target's uncontended cost in-process; None when it cannot be called here (a run gives it)."""
    if answered is None or not 200 <= answered < 300:
        return None  # its figures would be those of an error page (what broke is said per configuration)
    progress(f"view cost of {target.path} in-process (t0)")
    try:
        cost = view_cost(app, target.name, target.path, host)
    except Exception:  # the user's view may need what only a server gives it
        return None
    return cost if 200 <= cost.status < 300 else None


def instrument_cost(app: object, cost: ViewCost, host: str, run_dir: Path, progress: Progress) -> InstrumentCost | None:
    """The timing wrapper's own CPU per request, in-process (plain vs wrapped, alternated): on the target
    view, or on a minimal Django response when the view is too slow for the A/B to resolve µs."""
    # Wall, not CPU: a view that waits (a sleep, a query) jitters by far more than its CPU says.
    on_view = cost.wall_us_median <= INSTRUMENT_ON_VIEW_MAX_US
    target, path = (app, cost.path) if on_view else (minimal_django_app, "/")
    progress(f"the timing wrapper's own cost on {cost.path if on_view else 'a minimal Django response'}, in-process")
    stats_dir = run_dir / "instrument"
    stats_dir.mkdir(mode=0o700, exist_ok=True)
    try:
        with timed_in_process(target, stats_dir) as wrapped:  # type: ignore[arg-type]
            measured = measure_instrument_cost(target, wrapped, path=path, host=host)  # type: ignore[arg-type]
    except Exception:  # the user's view may need what only a server gives it (t0 said so already)
        return None
    return replace(measured, path=cost.path, reference=None if on_view else "a minimal Django response")
