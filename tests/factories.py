"""Results built in memory for the unit tests."""

from __future__ import annotations

from probes.bench.model import Metadata

METADATA = Metadata(
    created_utc="2026-11-26T00:00:00+00:00",
    hostname="h",
    platform="Linux",
    python="3.11.7",
    cpu_count=2,
    usable_cores=2,
    load_avg_1m=0.1,
    settings_module="settings.test",
    versions={"Django": "5.2"},
)
