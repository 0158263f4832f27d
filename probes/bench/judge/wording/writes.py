"""The line that says a URL writes to the project's database: which tables, what it means for the
figures, and what --db-copy changes. Said once on stderr and kept in the result's metadata."""

from __future__ import annotations

from ...model.writes import Writes

CHANGES = "the run changes your database, and every configuration runs on the data the previous ones changed"
FIX = "--db-copy gives each one a fresh copy"


def _table_text(writes: Writes, table: str) -> str:
    """'auth_group (INSERT x1, 1 row)': each kind of statement once, with the rows it changed when known."""
    kinds = [write for write in writes.tables if write.table == table]
    counts = ", ".join(f"{write.statement} x{write.count}" for write in kinds)
    rows = [write.rows for write in kinds if write.rows is not None]
    changed = f", {sum(rows)} row{'s' if sum(rows) != 1 else ''}" if rows else ""
    return f"{table} ({counts}{changed})"


def login_session_only(writes: Writes) -> bool:
    """Only --login-as's own session row was updated (SESSION_SAVE_EVERY_REQUEST, a modified session):
    that row is deleted when the run ends, so nothing of the project's data is left changed."""
    return writes.login_session and writes.session_only and all(write.statement == "UPDATE" for write in writes.tables)


def writes_line(writes: Writes) -> str | None:
    """One line: '/ping/ writes api_ping (UPDATE x1, 1 row) in one request: ...'; None when it wrote nothing."""
    if not writes.tables:
        return None
    tables = ", ".join(_table_text(writes, table) for table in writes.tables_written)
    if login_session_only(writes):
        return (
            f"{writes.path} writes only the session of --login-as in {tables} in one request;"
            " servebench deletes that session when the run ends, no other table changes"
        )
    head = f"{writes.path} writes {tables} in one request"
    if writes.session_only:
        head += " (the session middleware's saves)"
    if writes.db_copy:
        return f"{head}: every configuration runs on a fresh copy of the database (--db-copy), yours is left as it was"
    return f"{head}: {CHANGES}; {FIX}"
