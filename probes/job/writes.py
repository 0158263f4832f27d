"""Whether a URL writes: the statements one in-process request of it ran that change rows, per table.

Seen through Django's own execute_wrapper hook (as querytime.time_queries), on every connection of
this thread, around the one request servebench makes of each target before its first configuration
(failures.replay, with the run's headers): what it wrote is known before any load changes anything.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import connections

from ..bench.judge.wording.writes import writes_line
from ..bench.model.metadata import Metadata
from ..bench.model.writes import TableWrite, Writes

# A name as the backends quote it: "x" (PostgreSQL, SQLite), `x` (MySQL), [x] (SQL Server), or bare;
# schema-qualified ones ("public"."x") keep their last part, the table.
_NAME = r'(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+)'
_WRITE = re.compile(
    rf"^(?P<statement>INSERT|REPLACE|UPDATE|DELETE)\b(?:\s+OR\s+\w+)?(?:\s+ONLY)?(?:\s+(?:INTO|FROM))?\s+"
    rf"(?P<table>{_NAME}(?:\s*\.\s*{_NAME})*)",
    re.IGNORECASE,
)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*\n|/\*.*?\*/)*", re.DOTALL)


def written_table(sql: str) -> tuple[str, str] | None:
    """(STATEMENT, table) of a statement that changes rows; None for one that does not (SELECT, SAVEPOINT)."""
    match = _WRITE.match(_LEADING_COMMENTS.sub("", sql, count=1))
    if match is None:
        return None
    last = re.split(r"\s*\.\s*(?=[\"`\[\w$])", match["table"])[-1]
    return match["statement"].upper(), last.strip('"`[]')


@dataclass
class WriteTally:
    """The statements that changed rows while it observed, each with the cursor that ran it."""

    # (table, STATEMENT, cursor, its rowcount right after the statement)
    statements: list[tuple[str, str, Any, int]] = field(default_factory=list)

    def add(self, sql: str, cursor: Any) -> None:
        found = written_table(sql)
        if found is not None:
            self.statements.append((found[1], found[0], cursor, _rowcount(cursor)))

    def tables(self) -> tuple[TableWrite, ...]:
        """Per (table, STATEMENT), in the order first run: how many, and the rows they changed.

        Read again once the request is over: SQLite counts an INSERT … RETURNING's row only when Django
        has fetched it, while psycopg forgets it when the cursor is closed. None when the driver does not
        say (rowcount -1)."""
        counts: dict[tuple[str, str], int] = {}
        rows: dict[tuple[str, str], int | None] = {}
        for table, statement, cursor, early in self.statements:
            key = (table, statement)
            counts[key] = counts.get(key, 0) + 1
            changed, before = max(early, _rowcount(cursor)), rows.get(key, 0)
            rows[key] = None if changed < 0 or before is None else before + changed
        return tuple(
            TableWrite(table, statement, counts[table, statement], rows[table, statement])
            for table, statement in counts
        )


def _rowcount(cursor: Any) -> int:
    try:
        return int(getattr(cursor, "rowcount", -1))
    except Exception:  # a driver's cursor that says nothing once closed
        return -1


@contextlib.contextmanager
def observed() -> Iterator[WriteTally]:
    """A context that tallies each statement that changes rows, on every connection of this thread."""
    tally = WriteTally()

    def watch(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        tally.add(sql, context.get("cursor") if isinstance(context, dict) else None)
        return result

    with contextlib.ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(watch))
        yield tally


def session_table() -> str | None:
    """The table the project's sessions are saved in, when its SESSION_ENGINE keeps them in the database."""
    try:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        model = store.get_model_class()
    except (ImportError, AttributeError, LookupError, RuntimeError):  # a cache, file or cookie engine: no table
        return None
    return str(model._meta.db_table)


def writes_of(path: str, tally: WriteTally, *, status: int | None, login: bool, db_copy: bool) -> Writes:
    """What `path` wrote in the one request the tally observed."""
    return Writes(
        path=path,
        tables=tally.tables(),
        session_table=session_table(),
        login_session=login,
        db_copy=db_copy,
        status=status,
    )


def noted(metadata: Metadata, seen: Writes, warn: Callable[[str], None]) -> Metadata:
    """The metadata with what the target wrote; the line that says so, once, when it wrote anything."""
    if not seen.tables:
        return metadata
    line = writes_line(seen)
    if line is not None:
        warn(line)
    return replace(metadata, writes=(*metadata.writes, seen))
