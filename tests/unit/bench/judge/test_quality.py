"""How far to trust a run (judge/quality.py): each threshold, and the samples it reads."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from probes.bench.judge.quality import assess as judge
from probes.bench.judge.quality import assess_quality, enough_windows, shared_window
from tests.factories import run, sample

# A run nothing is wrong with but what each test sets: answered, the client far from a core.
QUIET: dict[str, Any] = {
    "requests": 1000,
    "ok": 1000,
    "client_cores": 0.3,
    "client_us_per_request": 10.0,
    "server_us_per_request": 20.0,
    "overflow_warnings": 0,
}


@pytest.mark.parametrize(
    ("figures", "quality", "reason"),
    [
        ({"requests": 100, "ok": 0}, "failing", "100.0 % of requests failed"),
        ({"requests": 1000, "ok": 980}, "failing", "2.0 % of requests failed"),
        # Above 0.1 % of attempts: 2 non-2xx answers in 1,000 fail a run.
        ({"requests": 1000, "ok": 998, "errors": {"non2xx": 2}}, "failing", "0.20 % of requests failed (non2xx 2)"),
        # Socket errors are attempts without an answer: 1,000 answers beside 1,350 of them fail.
        (
            {"requests": 1000, "ok": 1000, "errors": {"reset": 1200, "timeout": 100, "connect": 50}},
            "failing",
            "57.4 % of requests failed (connect 50, reset 1200, timeout 100)",
        ),
        ({"requests": 9990, "ok": 9990, "errors": {"reset": 10}}, "ok", None),
        ({"requests": 9990, "ok": 9990, "errors": {"reset": 11}}, "failing", "0.11 % of requests failed (reset 11)"),
        (
            {"overflow_warnings": 2},
            "failing",
            "the server's log reports 2 queue overflow(s) or worker deaths",
        ),
        ({"client_cores": 0.95}, "client-bound", "the load generator used 0.95 cores"),
        (
            {"client_us_per_request": 30.0},
            "client-bound",
            "the load generator spent more CPU per request (30 µs)",
        ),
        (
            {"rps_interval_pct": 12.4, "windows": 4},
            "noisy",
            "the median r/s is known to ±12.4 % (95 % interval) after 4 windows, wider than ±10 %",
        ),
        # Short of the ±3 % aimed at, yet within ±10 %: the machine's own drift, not a noisy row.
        ({"rps_interval_pct": 6.0, "windows": 4}, "ok", None),
        ({"rps_interval_pct": 3.0, "windows": 2}, "ok", None),
        ({"requests": 1000, "ok": 999}, "ok", None),
    ],
)
def test_quality_thresholds(figures: dict[str, float], quality: str, reason: str | None) -> None:
    arguments = {
        **QUIET,
        "rps_interval_pct": 1.0,
        "windows": 3,
        **figures,
    }
    got, reasons = assess_quality(**arguments)  # type: ignore[arg-type]
    assert got == quality
    if reason is None:
        assert reasons == ()
    else:
        assert reasons[0].startswith(reason)


def test_judge_uses_the_samples() -> None:
    assert judge(run(2, [1000.0, 1010.0, 990.0])) == ("ok", ())
    quality, reasons = judge(run(2, [1000.0, 1500.0, 700.0]))
    assert quality == "noisy"


def test_a_shared_machine_makes_a_run_noisy() -> None:
    quality, reasons = assess_quality(
        **QUIET,
        rps_interval_pct=1.0,
        windows=3,
        unattributed_share=0.4,
    )
    assert (quality, reasons) == (
        "noisy",
        ("40 % of the cores went to no measured role: another process shared the machine",),
    )


def test_a_window_another_process_took_a_quarter_of_the_cores_in_is_set_aside() -> None:
    quiet = sample(1000.0)  # 1.3 s of the roles' CPU, 1.5 s busy, on 2 cores x 2 s: 5 % to no role
    assert not shared_window(quiet)
    assert shared_window(replace(quiet, machine_busy_s=1.3 + 0.26 * 4))
    assert not shared_window(replace(quiet, machine_busy_s=1.3 + 0.24 * 4))


def test_the_windows_are_enough_once_the_median_is_sure_to_3_percent() -> None:
    assert not enough_windows([sample(1000.0)], least=2)
    assert enough_windows([sample(1000.0), sample(1002.0)], least=2)
    # ±3 % needs a tight pair: two windows 4 % apart are not sure (t of 1 degree of freedom is 12.7).
    assert not enough_windows([sample(1000.0), sample(1040.0)], least=2)
    assert enough_windows(
        [
            sample(
                1000.0,
            )
        ],
        least=1,
    )


def test_one_window_left_beside_those_set_aside_is_noisy_not_ok() -> None:
    # Five windows another process shared, one kept: a single window has no interval to be sure of.
    quality, reasons = assess_quality(
        **QUIET,
        rps_interval_pct=None,
        windows=1,
        set_aside=5,
    )
    assert (quality, reasons) == (
        "noisy",
        ("only 1 window ran while no other process took ≥ 25 % of the cores (5 set aside): no interval",),
    )


def test_a_database_that_could_not_be_found_is_not_another_process_nor_a_reason_to_measure_again() -> None:
    how = {"database": "unix socket /var/run/postgresql/.s.PGSQL.5432"}
    quiet = sample(1000.0)
    busy = replace(quiet, machine_busy_s=1.3 + 0.4 * 4)
    assert shared_window(busy)
    assert not shared_window(replace(busy, unattributed_roles=how))
    quality, reasons = assess_quality(
        **QUIET,
        rps_interval_pct=1.0,
        windows=3,
        unattributed_share=0.4,
        unattributed_roles=how,
    )
    assert reasons == (
        "40 % of the cores went to no measured role: the database's CPU could not be attributed"
        " (unix socket /var/run/postgresql/.s.PGSQL.5432)",
    )
