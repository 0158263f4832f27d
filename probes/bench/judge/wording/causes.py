"""The sentences that say what a figure was made of: the wait (the database, a lock, a session written),
the CPU no role holds (a service not found), a preflight warning's effect, and a configuration's
progress line. The rules (rules.py, settings.py) decide; these only word it."""

from __future__ import annotations

from collections.abc import Mapping

from ...model.diagnosis import Figures


def progress_text(label: str, *, rps: float, quality: str, verdict: str, reason: str = "") -> str:
    """The sweep's line after a configuration: its r/s, the quality and the verdict once each
    ('0 r/s, failing, failing' said one thing twice); a failing one says why in its place."""
    if verdict in ("", quality):
        return f"{label}: {rps:,.0f} r/s, {quality}" + (f": {reason}" if reason and quality == "failing" else "")
    return f"{label}: {rps:,.0f} r/s, {quality} data, {verdict}"


def unattributed_text(unattributed: Mapping[str, str]) -> str:
    """'; the database's CPU could not be attributed (unix socket ...): it is in the unattributed CPU'."""
    named = "; ".join(f"the {role}'s CPU could not be attributed ({how})" for role, how in unattributed.items())
    return f"; {named}: it is in the unattributed CPU, not another process's"


# Where one thread runs many requests (greenlets, an event loop), the timing wrapper gives each sampled
# request the process's CPU per request (timing/writer.py, shares_cpu): the server's own loop is in it.
SHARED_THREAD = "; one thread runs many requests here, so the view's CPU holds the server's own loop too (not split)"


def connection_per_request(share: float) -> tuple[str, str]:
    """(why, advice) of a large database share with CONN_MAX_AGE=0 (W005)."""
    return (
        f"database {100 * share:.0f} % of the roles' CPU with CONN_MAX_AGE=0: each request opens a connection (W005)",
        "set CONN_MAX_AGE (e.g. 60) or a connection pool: the database's share is mostly connection set-up",
    )


def wait_cause(db_share: float | None, f: Figures) -> str:
    """What the requests waited for, from the figures: the database (its share of the wait, the session the
    view saved), a lock in the app (a wait that was not database time), or what to look for when unknown."""
    if db_share is None:
        if f.queries == 0:
            return (
                "the view made no database query: the wait is a lock in the app or the server"
                " (a threading.Lock, a file, a connection pool)"
            )
        return "find what the requests share (a lock, a connection pool, the database)"
    if db_share < 0.5:
        return (
            f"only {100 * db_share:.0f} % of the wait is database time: the rest is a lock in the app"
            " (a threading.Lock, a file, a connection pool)"
        )
    text = (
        f"{100 * db_share:.0f} % of the wait is database time: the requests wait for the database's locks"
        " (SQLite admits one writer at a time)"
    )
    if f.t0_session_written:
        text += (
            "; this view saves a session on every request: sessions in the cache (or in PostgreSQL) take"
            " that write off the database's lock"
        )
    return text
