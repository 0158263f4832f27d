"""Several client hosts as one load: the spec split between them, their results summed and merged."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from .model import LoadResult, LoadSpec, summary_of

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram


def split_spec(spec: LoadSpec, hosts: int) -> list[LoadSpec]:
    """One spec per host: the connections (or the rate) shared out, the remainder to the first hosts."""
    if hosts == 1:
        return [spec]
    if spec.concurrency < hosts:
        raise ValueError(f"{spec.concurrency} connections cannot be shared by {hosts} client hosts")
    base, extra = divmod(spec.concurrency, hosts)
    return [
        replace(
            spec,
            concurrency=base + (index < extra),
            rate=spec.rate / hosts if spec.rate is not None else None,
            max_requests=max(1, spec.max_requests // hosts),
        )
        for index in range(hosts)
    ]


def _merged_histogram(results: list[LoadResult]) -> HdrHistogram:
    from hdrh.histogram import HdrHistogram

    merged = HdrHistogram(1, 3_600_000_000, 3)
    for result in results:
        assert result.histogram is not None
        merged.add(HdrHistogram.decode(result.histogram.encode("ascii")))
    return merged


def merge_results(results: list[LoadResult]) -> LoadResult:
    """Counts summed; the window is the hosts' mean (they ran at once); the latency's mean and max exact,
    its percentiles the request-weighted mean of each host's (a note says so)."""
    requests = sum(r.requests for r in results)
    weights = [r.requests / requests if requests else 1 / len(results) for r in results]
    latency: dict[str, float] = {}
    for key in ("p50", "p90", "p99", "mean"):
        if all(key in r.latency_ms for r in results):
            latency[key] = round(sum(w * r.latency_ms[key] for w, r in zip(weights, results, strict=True)), 6)
    if all("max" in r.latency_ms for r in results):
        latency["max"] = max(r.latency_ms["max"] for r in results)
    errors: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for r in results:
        errors.update(r.errors)
        statuses.update(r.status_counts)
    notes = {note for r in results for note in r.notes}
    if all(r.histogram for r in results):
        latency = summary_of(_merged_histogram(results))
        how = (
            "their percentile dumps merged (1 % steps to p99, then p99.5, p99.9, p99.99, max)"
            if results[0].generator == "wrk"
            else "their HDR histograms merged (exact)"
        )
        notes.add(f"{len(results)} client hosts: counts summed, latency from {how}")
    else:
        notes.add(
            f"{len(results)} client hosts: counts summed, latency p50/p90/p99 the request-weighted mean of theirs"
        )
    return LoadResult(
        generator=results[0].generator,
        duration_s=round(sum(r.duration_s for r in results) / len(results), 6),
        requests=requests,
        ok=sum(r.ok for r in results),
        errors=dict(errors),
        status_counts=dict(statuses),
        redirect_location=next((r.redirect_location for r in results if r.redirect_location), None),
        latency_ms=latency,
        bytes_received=sum(r.bytes_received for r in results),
        cpu_user_s=sum(r.cpu_user_s or 0.0 for r in results),
        cpu_system_s=sum(r.cpu_system_s or 0.0 for r in results),
        notes=tuple(sorted(notes)),
        hosts=len(results),
        busiest_client_cpu_s=max((r.cpu_user_s or 0.0) + (r.cpu_system_s or 0.0) for r in results),
    )
