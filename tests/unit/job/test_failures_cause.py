"""What broke is said without blaming the wrong thing: a service servebench started that died is named,
not "the server's environment differs"."""

from __future__ import annotations

from probes.job import failures


def test_a_dead_memcached_is_named_instead_of_the_environment() -> None:
    before = failures.InProcess(200)  # replayed in servebench's process while memcached ran
    dead = failures.failure(
        head="GET /probes/session-cache/ answered 500",
        status=500,
        in_process=before,
        exceptions=(),
        decision="",
        logs=(),
        gone=("servebench's memcached",),
    )
    assert dead.summary == (
        "GET /probes/session-cache/ answered 500 (servebench's memcached exited during the run):"
        " no exception was recorded: see the server's log"
    )
    assert dead.in_process_status == 200
    # With every service alive, a different answer here is still the server's environment.
    alive = failures.failure(
        head="GET /x answered 500", status=500, in_process=before, exceptions=(), decision="", logs=()
    )
    assert "(200 in servebench's own process: the server's environment differs)" in alive.summary
