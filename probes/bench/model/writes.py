"""What one request of a target wrote to the project's database, seen in servebench's own process
before the first configuration: a URL that writes changes the data every later configuration runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The statements that change rows (REPLACE: MySQL's and SQLite's INSERT-or-overwrite).
WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@dataclass(frozen=True)
class TableWrite:
    """The statements of one kind one request ran on one table, and the rows they changed."""

    table: str
    statement: str  # one of WRITE_STATEMENTS
    count: int  # statements in the one request observed
    rows: int | None = None  # rows they changed; None when the driver did not say (rowcount -1)


@dataclass(frozen=True)
class Writes:
    """What the target wrote in the one request servebench made of it in-process (with the run's headers).

    session_table: where the project keeps its sessions when they are in the database (None otherwise);
    its writes are the session middleware's. login_session: --login-as gave the request its session,
    which servebench deletes when the run ends. db_copy: every configuration runs on a fresh copy.
    """

    path: str
    tables: tuple[TableWrite, ...]
    session_table: str | None = None
    login_session: bool = False
    db_copy: bool = False
    status: int | None = None  # what that request answered

    @property
    def tables_written(self) -> tuple[str, ...]:
        """Each table written, once, in the order first written."""
        return tuple(dict.fromkeys(write.table for write in self.tables))

    @property
    def session_only(self) -> bool:
        """Only the session table was written (the session middleware's save)."""
        return self.session_table is not None and self.tables_written == (self.session_table,)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Writes:
        tables = tuple(TableWrite(**item) for item in data.get("tables", ()))
        known = {"path", "session_table", "login_session", "db_copy", "status"}
        values = {key: value for key, value in data.items() if key in known}
        return cls(tables=tables, **values)
