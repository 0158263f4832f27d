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


def _answering(*headers: tuple[str, str]):  # type: ignore[no-untyped-def]
    def app(environ: dict[str, object], start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/plain"), *headers])
        return [b"ok"]

    return app


def test_the_replay_sees_whether_the_view_saved_a_session(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 20: session advice only for a view that writes a session; the in-process request says so."""
    from django.test import override_settings

    root = tmp_path
    saved = _answering(("Set-Cookie", "sessionid=abc; HttpOnly; Path=/"))
    assert failures.replay(saved, "/", host="127.0.0.1", headers=(), root=root).session_saved
    other = _answering(("Set-Cookie", "csrftoken=xyz; Path=/"))
    assert not failures.replay(other, "/", host="127.0.0.1", headers=(), root=root).session_saved
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        # The session lives in the cookie: nothing is written on the server.
        assert not failures.replay(saved, "/", host="127.0.0.1", headers=(), root=root).session_saved
