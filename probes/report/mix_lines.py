"""The lines of a --urls mix: each request's share of what was sent and answered, its statuses and latency.

Summed over every measured window of the URL's configurations. The built-in generator knows which
response answered which request, so it gives each one's answers, statuses and latency; wrk's Lua sees
neither, so with wrk a request's line has what was sent only, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from ..bench.loadgen.requests import RequestFigures
from ..bench.model.results import Run


def mix_lines(runs: Sequence[Run]) -> list[str]:
    """One line per request of the mix ('mix: POST /b/ weight 3 (30 %): ...'); none for one request."""
    figures: dict[str, list[RequestFigures]] = {}
    for run in runs:
        for sample in run.samples:
            for item in sample.per_request:
                figures.setdefault(item.label, []).append(item)
    if not figures:
        return []
    total_weight = sum(items[0].weight for items in figures.values())
    all_sent = sum(item.sent for items in figures.values() for item in items)
    lines = [f"a mix of {len(figures)} requests (--urls), measured as one load: the table is the whole mix's"]
    for label, items in figures.items():
        weight, sent = items[0].weight, sum(item.sent for item in items)
        share = f"{100 * sent / all_sent:.1f} % of {all_sent:,} sent" if all_sent else "none sent"
        line = f"mix: {label} weight {weight} ({100 * weight / total_weight:.0f} %): {share}"
        answered = [item for item in items if item.responses is not None]
        if not answered:
            lines.append(line + " (wrk: requests sent only, no status or latency per URL)")
            continue
        statuses: dict[int, int] = {}
        for item in answered:
            for status, count in item.status_counts.items():
                statuses[status] = statuses.get(status, 0) + count
        line += f", {sum(item.responses or 0 for item in answered):,} answered"
        line += " (" + ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items())) + ")"
        p50s = [item.latency_ms["p50"] for item in answered if "p50" in item.latency_ms]
        if p50s:
            line += f", p50 {median(p50s):.2f} ms (median of {len(p50s)} window(s))"
        lines.append(line)
    return lines
