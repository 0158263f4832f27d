"""t0 is called as the load calls it: with --login-as's cookie (and its CSRF token for a POST), --header, the
method and the body. Where it still cannot be measured, one line says why, in the terminal and the result.
The project is the test project (a login-protected page, a CSRF-protected POST), called in-process and served
over real HTTP from a thread to the built-in generator and wrk."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from types import SimpleNamespace
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from probes.bench.loadgen import LoadSpec, run_in_process
from probes.bench.loadgen.plan import LoadPlan
from probes.bench.loadgen.requests import Request
from probes.cli.matrix import Target
from probes.job import failures, sessions
from probes.job.sweep import SweepRecord, in_process
from probes.job.t0 import t0_cost
from tests import project_urls
from tests.conftest import require_binary
from tests.factories import METADATA

HOST = "127.0.0.1"
PROJECT = override_settings(
    ROOT_URLCONF="tests.project_urls",
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",  # a Content-Length: wrk counts a close-delimited answer an error
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    SERVEBENCH={"VIEW_COST_MIN_TIME_S": 0.05, "VIEW_COST_MIN_ITERATIONS": 5, "VIEW_COST_WARMUP": 1},
)
BODY = b"note=caf%C3%A9&n=1"


@pytest.fixture
def app(transactional_db: None) -> Iterator[WSGIHandler]:
    get_user_model().objects.create_user("alice", password="x")
    project_urls.RECEIVED.clear()
    with PROJECT:
        yield WSGIHandler()


def login(csrf: bool) -> tuple[tuple[str, str], ...]:
    secret = sessions.new_csrf_secret() if csrf else None
    cookie, key = sessions.login_session("alice", csrf_secret=secret)
    return sessions.login_headers(cookie, key, secret)


def test_t0_of_a_page_behind_a_login_is_measured_with_the_cookie(app: WSGIHandler) -> None:
    said: list[str] = []
    load = LoadPlan(path="/private/", host_header=HOST, headers=login(csrf=False))
    cost = t0_cost(app, Target("private", "/private/"), HOST, 200, said.append, load=load)
    assert cost is not None, said  # was None: the in-process call went without the cookie and got a 302
    assert cost.status == 200 and cost.response_bytes == len(b"hello alice\n")


def test_where_t0_cannot_be_measured_one_line_says_why_and_the_result_keeps_it(app: WSGIHandler) -> None:
    """No --login-as: the page redirects in-process; the run says so (it said nothing) and the Suite keeps it."""
    record = SweepRecord(METADATA, ())
    plan = SimpleNamespace(targets=(Target("private", "/private/"),), timing=False, login_as=None)
    launcher = SimpleNamespace(host_header=HOST, directory=Path.cwd(), fresh_database=None)
    said: list[str] = []
    load = LoadPlan(path="/private/", host_header=HOST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("probes.job.project.wsgi_application", lambda: app)
        in_process(plan, load, launcher, record, run_dir=Path.cwd(), progress=said.append, warn=said.append)  # type: ignore[arg-type]
    line = "t0 not measured: GET /private/ answered 302 in-process (a login page? --login-as USERNAME)"
    assert said == [line]
    assert record.suite().notes == (line,)
    assert record.costs["/private/"] is None


def test_a_post_to_a_csrf_protected_view_with_login_as_carries_the_token(app: WSGIHandler) -> None:
    post = Request("/ping/", method="POST", body=BODY)
    load = LoadPlan(path="/ping/", host_header=HOST, headers=login(csrf=True), requests=(post,))
    said: list[str] = []
    cost = t0_cost(app, Target("ping", "/ping/"), HOST, 200, said.append, load=load)
    assert cost is not None and cost.status == 200, said
    assert set(project_urls.RECEIVED) == {("alice", "application/x-www-form-urlencoded", BODY)}
    assert len(project_urls.RECEIVED) == cost.iterations + 1  # every call posted its body (one warm-up)


def test_a_post_refused_for_csrf_says_so_and_names_the_fix(app: WSGIHandler) -> None:
    post = Request("/ping/", method="POST", body=BODY)
    here = failures.replay(app, "/ping/", host=HOST, headers=(), root=Path.cwd(), request=post)
    assert here.status == 403
    assert failures.decided(403, path="/ping/", host=HOST, location="", logged=here.logged) == (
        "CSRF: Forbidden (CSRF cookie not set.): /ping/: the view refused it for CSRF (--login-as USERNAME sends"
        " the login session's CSRF token; or make the view csrf_exempt)"
    )
    said: list[str] = []
    load = LoadPlan(path="/ping/", host_header=HOST, requests=(post,))
    assert t0_cost(app, Target("ping", "/ping/"), HOST, here.status, said.append, load=load) is None
    assert said == [
        "t0 not measured: POST /ping/ answered 403 in-process (CSRF? --login-as USERNAME sends a CSRF token,"
        " or make the view csrf_exempt)"
    ]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.mark.parametrize("generator", ["builtin", "wrk"])
def test_the_load_posts_with_the_login_and_csrf_token_through_a_real_server(app: WSGIHandler, generator: str) -> None:
    if generator == "wrk":
        require_binary("wrk")
    server = make_server(HOST, 0, app, server_class=_ThreadingServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        post = Request("/ping/", method="POST", body=BODY)
        spec = LoadSpec(
            path="/ping/",
            port=server.server_port,
            headers=login(csrf=True),
            requests=(post,),
            concurrency=2,
            duration_s=0.5,
            warmup_s=0,
        )
        result = run_in_process(spec, generator)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.requests > 10 and result.ok == result.requests and result.errors == {}
    received = list(project_urls.RECEIVED)
    assert set(received) == {("alice", "application/x-www-form-urlencoded", BODY)}
    assert result.requests <= len(received) <= result.requests + spec.concurrency + 1  # wrk's preflight
