"""Time database queries through Django's own execute_wrapper hook.

Two forms: `time_queries`, a context for one request that fills a `DbTally` (the toolbar panel), and
`install_query_timer`, the servers' timer, installed once on each connection
as it is created so that no request pays for setting it up.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created


@dataclass
class DbTally:
    """Query time and count of one request (the toolbar panel's timer)."""

    ns: int = 0
    queries: int = 0


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


QueryTimer = Callable[..., Any]


def install_query_timer(add_query: Callable[[], Callable[[int], None]]) -> QueryTimer:
    """Time every query of this process: `add_query()` gives the function that records one query's ns.

    The wrapper is put first on each connection's execute_wrappers when the
    connection is created (a connection wrapper lives as long as its thread),
    and only once: the user's own execute_wrapper contexts push and pop theirs
    after it.
    """

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            add_query()(time.perf_counter_ns() - start)

    def on_connection(sender: Any, connection: Any, **_: Any) -> None:
        if timed not in connection.execute_wrappers:
            connection.execute_wrappers.insert(0, timed)

    connection_created.connect(on_connection, weak=False, dispatch_uid=_UID)
    # A connection this thread already opened (the project's start-up, before a fork) is timed too.
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            on_connection(None, connection)
    return timed


def remove_query_timer(timed: QueryTimer) -> None:
    """Undo install_query_timer in this thread (servebench's own process, after measuring the wrapper)."""
    connection_created.disconnect(dispatch_uid=_UID)
    for connection in connections.all(initialized_only=True):
        if timed in connection.execute_wrappers:
            connection.execute_wrappers.remove(timed)


_UID = "servebench-query-timer"
