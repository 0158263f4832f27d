"""--compare as a library: pairs, ratios, the t-test, the wording, and the files it refuses."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from probes.bench.judge.compare import Change, Significance, critical_t95, student_t
from probes.bench.model.app import AppTotals
from probes.bench.model.results import Metadata, Run, Sample, Suite
from probes.report.compare import (
    CompareError,
    Key,
    compare,
    format_ratio,
    load_for_compare,
    render_comparison,
    slower_beyond,
)
from tests.factories import METADATA, gunicorn_run

# B measured elsewhere, with other versions: it still compares.
METADATA_B = replace(METADATA, hostname="other", created_utc="2026-11-27T00:00:00+00:00", versions={"Django": "6.0"})


def sample(rps: int, *, p99_ms: float = 10.0, server_s: float = 0.3) -> Sample:
    """One 1-second window: `rps` requests, all OK; CPU 0.1 client + 0.1 nginx + server_s."""
    return Sample(
        generator="wrk",
        duration_s=1.0,
        requests=rps,
        ok=rps,
        errors={},
        status_counts={"200": rps},
        redirect_location=None,
        latency_ms={"p50": 2.0, "p90": 4.0, "p99": p99_ms, "max": 20.0, "mean": 3.0},
        cpu_s={"client": 0.1, "nginx": 0.1, "server": server_s},
        machine_busy_s=1.0,
        wall_s=1.0,
        cores=2,
        app=AppTotals(),
        served_by_pid={},
    )


def run(workers: int, *rps: int, path: str = "/x", **changes: Any) -> Run:
    changes = {"quality": "ok", **changes}
    return gunicorn_run(workers, path=path, samples=tuple(sample(value) for value in rps), **changes)


def suite(*runs: Run, metadata: Metadata = METADATA) -> Suite:
    return Suite(metadata=metadata, runs=runs)


def test_critical_values_are_those_of_the_t_table() -> None:
    assert [critical_t95(df) for df in (1, 2, 4, 10, 30, 35, 40, 59, 60, 100, 199, 200, 10_000)] == [
        12.706, 4.303, 2.776, 2.228, 2.042, 2.042, 2.021, 2.009, 2.000, 1.984, 1.984, 1.960, 1.960,
    ]  # fmt: skip
    with pytest.raises(ValueError):
        critical_t95(0)


def test_student_t_against_hand_computed_values() -> None:
    """A = 1, 2, 3 and B = 4, 5, 6: means 2 and 5, squares 2 + 2, pooled variance 4 / 4 = 1,
    standard error sqrt(1 * (1/3 + 1/3)) = 0.8165, t = 3 / 0.8165 = 3.6742 (scipy's ttest_ind
    says 3.6742346, p = 0.021), df 4, critical 2.776: significant.
    B = 2, 3, 4 instead: t = 1 / 0.8165 = 1.2247 < 2.776: not significant."""
    test = student_t([1, 2, 3], [4, 5, 6])
    assert test is not None
    assert (round(test.t, 7), test.df, test.critical, test.significant) == (3.6742346, 4, 2.776, True)
    test = student_t([1, 2, 3], [2, 3, 4])
    assert test is not None
    assert (round(test.t, 4), test.significant) == (1.2247, False)
    # Unequal sizes: A = 1, 2, 3, B = 5, 7: squares 2 + 2 over df 3, error sqrt(4/3 * (1/3 + 1/2)) = 1.0541,
    # t = (6 - 2) / 1.0541 = 3.7947 >= 3.182.
    test = student_t([1, 2, 3], [5, 7])
    assert test is not None
    assert (round(test.t, 4), test.df, test.significant) == (3.7947, 3, True)


def test_student_t_without_variance_or_degrees_of_freedom() -> None:
    assert student_t([100], [200]) is None
    same = student_t([100, 100], [100, 100])
    assert same is not None and (same.t, same.significant) == (0.0, False)
    apart = student_t([100, 100], [90, 90])
    assert apart is not None and (apart.t, apart.significant) == (-math.inf, True)


def test_ratio_is_worded_as_pyperf_does() -> None:
    assert [format_ratio(r) for r in (2.0, 1.0, 0.8, 1.984)] == [
        "2.00x faster",
        "no change",
        "1.25x slower",
        "1.98x faster",
    ]


def test_twice_as_fast_is_significant_with_its_figures() -> None:
    """A = 100, 102, 98 and B = 200, 204, 196 r/s: ratio of medians 200 / 100 = 2.00; cv 0.02 on each
    side, so ± 2 * sqrt(0.02² + 0.02²) = 0.0566; squares 8 + 32 over df 4 = 10, error sqrt(10 * 2/3)
    = 2.582, t = 100 / 2.582 = 38.73."""
    a = run(2, 100, 102, 98)
    b = replace(run(2, 200, 204, 196), samples=tuple(sample(v, p99_ms=5.0, server_s=0.1) for v in (200, 204, 196)))
    pair = compare(suite(a), suite(b, metadata=METADATA_B)).pairs[0]
    assert (pair.verdict, pair.ratio, pair.change_pct) == (Significance.FASTER, 2.0, 100.0)
    assert pair.ratio_error is not None and round(pair.ratio_error, 4) == 0.0566
    assert pair.ttest is not None and (round(pair.ttest.t, 2), pair.ttest.df) == (38.73, 4)
    assert pair.p99_ms == Change(10.0, 5.0)
    # CPU per request, all roles: (0.1 + 0.1 + 0.3) s / 100 requests = 5,000 µs; B: 0.3 s / 200 = 1,500 µs.
    cpu = pair.cpu_us_per_request
    assert cpu is not None and (cpu.a, cpu.b, cpu.pct) == pytest.approx((5000.0, 1500.0, -70.0))


def test_equal_noisy_repeats_are_not_significant() -> None:
    pair = compare(suite(run(2, 900, 1000, 1100)), suite(run(2, 1100, 900, 1000))).pairs[0]
    assert (pair.verdict, pair.ratio) == (Significance.NOT_SIGNIFICANT, 1.0)
    assert pair.ttest is not None and pair.ttest.t == 0.0


def test_a_significant_change_under_min_change_is_within_noise() -> None:
    a, b = suite(run(2, 1000, 1001, 999)), suite(run(2, 1030, 1031, 1029))
    pair = compare(a, b, min_change_pct=5).pairs[0]
    assert pair.ttest is not None and pair.ttest.significant
    assert (pair.verdict, pair.change_pct) == (Significance.WITHIN_NOISE, 3.0)
    assert compare(a, b, min_change_pct=2).pairs[0].verdict is Significance.FASTER


def test_one_repeat_each_is_untested_and_no_samples_is_not_measured() -> None:
    untested = compare(suite(run(2, 100)), suite(run(2, 150))).pairs[0]
    assert (untested.verdict, untested.ratio, untested.ttest, untested.ratio_error) == (
        Significance.UNTESTED, 1.5, None, None,
    )  # fmt: skip
    missing = compare(suite(run(2, 100, 101)), suite(run(2, quality="failing", error="never up"))).pairs[0]
    assert (missing.verdict, missing.ratio) == (Significance.NOT_MEASURED, None)


def test_configurations_only_in_one_result_are_listed() -> None:
    a = suite(run(2, 100, 101), run(4, 100, 101), run(2, 100, 101, path="/y"))
    b = suite(run(8, 100, 101), run(2, 100, 101), run(2, 100, 101, concurrency=16), run(2, 100, 101, app="null"))
    comparison = compare(a, b)
    assert [pair.key.workers for pair in comparison.pairs] == [2]
    assert [str(key) for key in comparison.only_in_a] == [
        "gunicorn w4 nginx/tcp /x c=8",
        "gunicorn w2 nginx/tcp /y c=8",
    ]
    assert [(key.workers, key.concurrency, key.app) for key in comparison.only_in_b] == [
        (8, 8, "project"), (2, 16, "project"), (2, 8, "null"),
    ]  # fmt: skip
    text = render_comparison(comparison)
    assert "only in A: gunicorn w4 nginx/tcp /x c=8" in text.splitlines()
    assert "only in B: gunicorn w8 nginx/tcp /x c=8" in text.splitlines()


def test_a_configuration_measured_twice_pairs_in_order() -> None:
    comparison = compare(suite(run(2, 100, 101), run(2, 200, 201)), suite(run(2, 100, 101)))
    assert [pair.rps.a for pair in comparison.pairs] == [100.5]
    assert comparison.only_in_a == (Key.of(run(2, 200, 201)),)


def test_geometric_mean_and_slower_beyond() -> None:
    """Ratios 2.0 (w2) and 0.8 (w4): geometric mean sqrt(1.6) = 1.2649, "1.26x faster".
    w4 is 20 % slower: beyond 10 %, not beyond 25 %."""
    a = suite(run(2, 100, 102, 98), run(4, 1000, 1002, 998), run(8, 100, 100))
    b = suite(run(2, 200, 204, 196), run(4, 800, 802, 798), run(8, quality="failing"))
    comparison = compare(a, b)
    assert [pair.verdict for pair in comparison.pairs] == [
        Significance.FASTER,
        Significance.SLOWER,
        Significance.NOT_MEASURED,
    ]
    assert comparison.geometric_mean is not None and round(comparison.geometric_mean, 4) == 1.2649
    assert [pair.key.workers for pair in slower_beyond(comparison, 10)] == [4]
    assert slower_beyond(comparison, 20) == []  # exactly 20 % is not beyond 20 %
    assert render_comparison(comparison).splitlines()[-1] == "geometric mean: 1.26x faster (2 configurations)"
    assert compare(suite(run(2, 100, 101)), suite(run(2, 200, 201))).geometric_mean is None  # one pair


def test_render_comparison() -> None:
    a = suite(run(2, 100, 102, 98), run(4, 1000, 1001, 999), run(8, 900, 1000, 1100, quality="noisy"))
    b = suite(run(2, 200, 204, 196), run(4, 1030, 1031, 1029), run(8, 1100, 900, 1000), metadata=METADATA_B)
    assert render_comparison(compare(a, b)).splitlines() == [
        "A: 2026-11-26T00:00:00+00:00 on h, Python 3.11.7, Django 5.2",
        "B: 2026-11-27T00:00:00+00:00 on other, Python 3.11.7, Django 6.0",
        "B against A: median r/s B/A; Student's two-sample t-test over the repeats, 95 %;"
        " a change under 5 % is within noise",
        "gunicorn w2 nginx/tcp /x c=8: 2.00x faster",
        "    r/s 100 -> 200 (+100 %; ratio 2.00 ± 0.06; t = 38.73, df 4)",
        "    p99 10.00 -> 10.00 ms (+0 %), CPU 5,000 -> 2,500 µs/request (-50 %)",
        "gunicorn w4 nginx/tcp /x c=8: within noise (under 5 %)",
        "    r/s 1,000 -> 1,030 (+3 %; ratio 1.03 ± 0.00; t = 36.74, df 4)",
        "    p99 10.00 -> 10.00 ms (+0 %), CPU 500 -> 485 µs/request (-3 %)",
        "gunicorn w8 nginx/tcp /x c=8: not significant",
        "    r/s 1,000 -> 1,000 (+0 %; ratio 1.00 ± 0.14; t = 0.00, df 4)",
        "    p99 10.00 -> 10.00 ms (+0 %), CPU 500 -> 500 µs/request (+0 %), A noisy",
        "geometric mean: 1.27x faster (3 configurations)",
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not json {", "not JSON"),
        (b"[1, 2]", "not a servebench result"),
        (b'{"format": "pyperf"}', "not a servebench result"),
        (b'{"format": "servebench/2"}', "format servebench/2, this servebench reads servebench/1"),
        (b'{"format": "servebench/1"}', "a damaged servebench/1 result (KeyError: 'metadata')"),
        (b"\xff\xfe\x00", "not JSON (not UTF-8 text)"),
    ],
)
def test_files_that_cannot_be_compared_get_one_line(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "A.json"
    path.write_bytes(content)
    with pytest.raises(CompareError) as raised:
        load_for_compare(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_file_and_a_saved_result(tmp_path: Path) -> None:
    with pytest.raises(CompareError, match=r"^.*/missing\.json: no such file$"):
        load_for_compare(tmp_path / "missing.json")
    saved = suite(run(2, 100, 102, 98))
    saved.dump(tmp_path / "A.json")
    assert load_for_compare(tmp_path / "A.json") == saved
    assert json.loads((tmp_path / "A.json").read_text())["format"] == "servebench/1"


def test_nothing_in_common_exits_1_with_one_line(tmp_path: Path) -> None:
    """Issue 20: --compare of two results without a configuration in common exited 0."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    suite(run(2, 100, 101)).dump(tmp_path / "A.json")
    suite(run(4, 200, 201), run(8, 300, 301)).dump(tmp_path / "B.json")
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("servebench", "--compare", str(tmp_path / "A.json"), str(tmp_path / "B.json"), stdout=out)
    assert str(raised.value) == (
        "no configuration is in both results (A has 1, B 2); first only in A: gunicorn w2 nginx/tcp /x c=8"
    )
    assert raised.value.returncode == 1
    assert out.getvalue() == ""
