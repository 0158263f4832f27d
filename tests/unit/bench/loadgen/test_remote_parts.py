"""Several client hosts as one load, and what a local child may target (no process started)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.bench.loadgen.merge import merge_results, split_spec
from probes.bench.loadgen.model import LoadResult, LoadSpec, check_loopback, latency_histogram, summary_of


def _result(requests: int, p50: float, mx: float, cpu: float) -> LoadResult:
    return LoadResult(
        generator="wrk",
        duration_s=2.0,
        requests=requests,
        ok=requests,
        errors={"timeout": 1},
        status_counts={200: requests},
        redirect_location=None,
        latency_ms={"p50": p50, "p90": p50, "p99": p50, "max": mx, "mean": p50},
        bytes_received=10 * requests,
        cpu_user_s=cpu,
        cpu_system_s=0.0,
    )


def test_connections_are_shared_and_counts_summed() -> None:
    specs = split_spec(LoadSpec(path="/", host="198.18.0.1", port=80, concurrency=5), 2)
    assert [spec.concurrency for spec in specs] == [3, 2]
    with pytest.raises(ValueError, match="cannot be shared"):
        split_spec(LoadSpec(path="/", port=80, concurrency=1), 2)
    merged = merge_results([_result(300, 1.0, 5.0, 0.2), _result(100, 3.0, 9.0, 0.1)])
    assert (merged.requests, merged.ok, merged.errors, merged.status_counts) == (400, 400, {"timeout": 2}, {200: 400})
    assert merged.latency_ms["p50"] == pytest.approx(1.5) and merged.latency_ms["max"] == 9.0
    assert merged.cpu_user_s == pytest.approx(0.3)
    assert any("2 client hosts" in note for note in merged.notes)


def test_a_local_child_targets_loopback_only_and_a_name_never() -> None:
    with pytest.raises(ValueError, match="from this machine"):
        check_loopback(LoadSpec(path="/", host="198.18.0.1", port=80))
    with pytest.raises(ValueError, match="IP address"):
        LoadSpec(path="/", host="example.com", port=80)
    check_loopback(LoadSpec(path="/", port=80))


def test_the_builtins_histograms_merge_exactly() -> None:
    first, second = [1_000_000] * 90 + [50_000_000] * 10, [2_000_000] * 50
    results = []
    for latencies in (first, second):
        histogram = latency_histogram(latencies)
        result = replace(_result(len(latencies), 0.0, 0.0, 0.1), latency_ms=summary_of(histogram), generator="builtin")
        results.append(replace(result, histogram=histogram.encode().decode("ascii")))
    merged = merge_results(results)
    assert merged.latency_ms == summary_of(latency_histogram(first + second))
    assert merged.latency_ms["p90"] == pytest.approx(2.0, rel=1e-3)  # a request-weighted mean of the p90s says 1.33
    assert any("HDR histograms merged (exact)" in note for note in merged.notes)


def test_wrks_percentile_dumps_merge_to_the_dumps_resolution() -> None:
    from probes.bench.loadgen.adapters import _wrk_histogram
    from probes.bench.loadgen.wrkscript import QUANTILES, QUANTILES_MARKER

    def dump(latencies_us: list[int]) -> str:
        """What wrk's done() prints for these latencies: each QUANTILES percentile (nearest rank)."""
        ordered = sorted(latencies_us)
        at = [ordered[min(len(ordered) - 1, max(0, -(-int(q * len(ordered)) // 100) - 1))] for q in QUANTILES]
        return QUANTILES_MARKER + ",".join(str(value) for value in at)

    # 90 requests at 1 ms and 10 at 50 ms on one host; 50 at 2 ms on the other: p90 is 2 ms, not 1.33.
    first, second = [1_000] * 90 + [50_000] * 10, [2_000] * 50
    results = [
        replace(_result(len(lat), 0.0, 0.0, 0.1), histogram=_wrk_histogram(dump(lat), len(lat)))
        for lat in (first, second)
    ]
    merged = merge_results(results)
    exact = summary_of(latency_histogram([1000 * us for us in first + second]))
    for key in ("p50", "p90", "p99", "max"):
        assert merged.latency_ms[key] == pytest.approx(exact[key], rel=0.01), key
    assert any("percentile dumps merged" in note for note in merged.notes)
    assert _wrk_histogram("no dump", 10) is None
