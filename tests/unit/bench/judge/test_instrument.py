"""The timing wrapper under load (--instrument-pairs): what the pairs found and what is booked."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.instrument import instrument_under_load
from probes.bench.judge.wording.instrument import instrument_line
from probes.bench.loadgen.plan import LoadPlan
from probes.bench.model.results import Sample
from tests.factories import sample

JITTER = (0.0, 0.3, -0.2, 0.1, -0.3, 0.2, -0.1, 0.25)  # µs per request, window to window


def window(rps: float, server_us: float) -> Sample:
    """A 2 s window at rps whose server tree spent server_us per request."""
    base = sample(rps)
    return replace(base, cpu_s={**base.cpu_s, "server": server_us * base.ok / 1e6})


def pairs(plain_us: float, timed_us: float, rps: float = 3000.0) -> tuple[list[Sample], list[Sample]]:
    plain = [window(rps, plain_us + j) for j in JITTER]
    timed = [window(rps, timed_us + j) for j in reversed(JITTER)]
    return plain, timed


def test_pairs_that_agree_with_the_in_process_figure_book_it() -> None:
    plain, timed = pairs(300.0, 302.0)
    found = instrument_under_load("uwsgi w1 nginx/tcp", "uwsgi", plain, timed, in_process_us=2.2)
    assert found.cpu_low_us is not None and found.cpu_low_us < 2.2 < (found.cpu_high_us or 0)
    assert not found.proven_above and found.booked_us == 2.2
    line = instrument_line(found)
    assert line.startswith("timing wrapper under load, uwsgi w1 nginx/tcp (8 timed/plain pairs): r/s ")
    assert line.endswith("2.2 µs in-process: 2.2 µs booked (the pairs agree or cannot tell)")


def test_pairs_proving_the_wrapper_costs_more_in_the_server_book_their_estimate() -> None:
    plain, timed = pairs(300.0, 310.0)
    found = instrument_under_load("uwsgi w1 nginx/tcp", "uwsgi", plain, timed, in_process_us=2.2)
    assert found.proven_above and found.booked_us is not None and 9.0 < found.booked_us < 11.0
    assert "more in the server, 10.0 µs booked as the instrument" in instrument_line(found)


def test_under_asgi_nothing_is_booked() -> None:
    plain, timed = pairs(300.0, 310.0)
    found = instrument_under_load("uvicorn w1 nginx/tcp", "uvicorn", plain, timed, in_process_us=None)
    assert found.booked_us is None
    assert "nothing booked" in instrument_line(found)


def test_the_r_s_change_is_timed_against_plain() -> None:
    plain = [window(3000.0 + 5 * j, 300.0) for j in JITTER]
    timed = [window(2700.0 + 5 * j, 330.0) for j in JITTER]
    found = instrument_under_load("gunicorn w1 nginx/tcp", "gunicorn", plain, timed, in_process_us=2.0)
    assert found.rps.change_pct is not None and 10.5 < found.rps.change_pct < 11.5  # 3000 / 2700
    assert "r/s timed is 11.1 % slower" in instrument_line(found)


def test_the_plan_books_a_kinds_own_figure_over_the_in_process_one() -> None:
    plan = LoadPlan(path="/", host_header="h", instrument_s_per_request=2e-6, instrument_by_kind=(("uwsgi", 1e-5),))
    assert plan.instrument_for("uwsgi") == 1e-5 and plan.instrument_for("gunicorn") == 2e-6
