"""Time every database query of this thread, through Django's own execute_wrapper hook.

Used by the servers' timing wrapper (probes.entry) and by the toolbar panel.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

from .bench.appstats import DbTally


def time_queries(tally: DbTally) -> contextlib.ExitStack:
    """A context that adds each query's time (ns) and count to `tally`, on every connection."""

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            tally.ns += time.perf_counter_ns() - start
            tally.queries += 1

    stack = contextlib.ExitStack()
    for connection in connections.all():
        stack.enter_context(connection.execute_wrapper(timed))
    return stack
