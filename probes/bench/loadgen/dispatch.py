"""Which generator runs a spec, in the current process (the load child calls it; tests may too)."""

from __future__ import annotations

from .adapters import run_ab, run_wrk
from .builtin import run_builtin
from .model import LoadResult, LoadSpec


def run_in_process(spec: LoadSpec, generator: str = "builtin") -> LoadResult:
    """Run generator in this process (the child's side; tests may call it directly)."""
    runners = {"builtin": run_builtin, "wrk": run_wrk, "ab": run_ab}
    if generator not in runners:
        raise ValueError(f"unknown generator {generator!r} (builtin, wrk, ab)")
    return runners[generator](spec)
