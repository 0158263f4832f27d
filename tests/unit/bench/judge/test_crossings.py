"""Under ASGI, the why line says what asgiref's crossings and new threads cost, from what the wrapper counted."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.rules import diagnose
from probes.bench.model.results import Run
from tests.unit.bench.judge.test_rules import T0, make_run

NAMES = {
    "signal:request_started": 1,
    "middleware:SecurityMiddleware.process_request": 1,
    "middleware:SecurityMiddleware.process_response": 1,
    "middleware:CommonMiddleware.process_request": 1,
    "middleware:CommonMiddleware.process_response": 1,
    "view:mysite.views.hello": 1,
    "call:HttpResponse.close": 1,
}


def counted(run: Run, *, kind: str, requests: int = 25, per_request: dict[str, int] = NAMES, threads: int = 2) -> Run:
    """The run as `kind` served it, its wrapper having counted `requests` sampled requests' crossings."""
    samples = tuple(
        replace(
            sample,
            app=replace(
                sample.app,
                crossings=requests * sum(per_request.values()),
                new_threads=requests * threads,
                counted_requests=requests,
                crossed={name: requests * n for name, n in per_request.items()},
            ),
        )
        for sample in run.samples
    )
    return replace(run, kind=kind, samples=samples)


def test_under_asgi_the_why_counts_the_crossings_names_them_and_says_their_cost() -> None:
    run = counted(make_run(workers=1, app_cpu_ms=0.93), kind="uvicorn")
    diagnosis = diagnose(run, T0)
    assert diagnosis.why.endswith(
        "; 7 sync↔async crossings and 2 new threads per request (SecurityMiddleware ×2, CommonMiddleware ×2,"
        " request_started, the sync view, close): about 0.53 ms of the 0.93 ms (a crossing ~50 µs, a new thread"
        " ~90 µs of CPU on this machine, measured by benchmarks/asgi_timing_overhead.py)"
    ), diagnosis.why
    assert diagnosis.advice.endswith(
        "; fewer crossings under ASGI: async-capable middleware in place of SecurityMiddleware, CommonMiddleware"
        " and an async view"
    ), diagnosis.advice


def test_async_capable_middleware_and_an_async_view_leave_djangos_own() -> None:
    own = {"signal:request_started": 1, "call:HttpResponse.close": 1}
    run = counted(make_run(workers=1), kind="uvicorn", per_request=own)
    # A disconnect's request_finished in 1 request of 25: under 1 in 10, left out of the names.
    run = replace(
        run,
        samples=tuple(
            replace(s, app=replace(s.app, crossed={**s.app.crossed, "signal:request_finished": 1})) for s in run.samples
        ),
    )
    diagnosis = diagnose(run, T0)
    assert "; 2 sync↔async crossings and 2 new threads per request (request_started, close)" in diagnosis.why
    assert diagnosis.advice.endswith(
        "; the crossings left are Django's own (request_started's sync receivers, response.close())"
    )


def test_wsgi_and_an_uncounted_asgi_run_say_nothing_of_crossings() -> None:
    wsgi = diagnose(counted(make_run(workers=1), kind="gunicorn"), T0)
    uncounted = diagnose(replace(make_run(workers=1), kind="uvicorn"), T0)
    assert "crossings" not in wsgi.why + uncounted.why
    assert "crossings" not in wsgi.advice + uncounted.advice
