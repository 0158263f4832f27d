"""A django-debug-toolbar panel: what the current request costs, the ceiling it implies, and what servebench measured.

Add "probes.panels.ServeBenchPanel" to DEBUG_TOOLBAR_PANELS (importing this
module needs django-debug-toolbar). The figures are taken with DEBUG on and the
toolbar active: they overstate the cost, so the ceilings understate what the
view can do; servebench's saved results are the measured truth.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from debug_toolbar.panels import Panel
from django.http import HttpRequest, HttpResponse

from .bench.model.metadata import usable_cores
from .bench.model.results import FormatError, Suite
from .conf import results_dir
from .worker.querytime import DbTally, time_queries

logger = logging.getLogger(__name__)

# The result files that hold load runs: the sweep's and --explain's.
RUN_GLOBS = ("sweep-*.json", "explain-*.json")


@functools.lru_cache(maxsize=64)
def _load_suite(path: str, mtime_ns: int) -> Suite | None:
    # Keyed by mtime: a result file rewritten after each configuration is read again, and a
    # bad one is logged once per version, not on every request.
    try:
        return Suite.load(Path(path))  # validated: a regular file, bounded, every figure in range
    except FormatError as exc:
        logger.warning("servebench panel: skipped %s", exc)
    except OSError as exc:
        logger.warning("servebench panel: skipped %s: %s", path, exc.strerror or type(exc).__name__)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("servebench panel: skipped %s: not a servebench result (%s)", path, type(exc).__name__)
    return None


def _newest_first(directory: Path) -> Iterator[tuple[Path, Suite]]:
    """The saved sweeps in the results directory, newest first (unreadable ones left out)."""
    try:
        files = [(entry.stat().st_mtime_ns, entry) for pattern in RUN_GLOBS for entry in directory.glob(pattern)]
    except OSError:
        return
    for mtime_ns, file in sorted(files, key=lambda item: (item[0], item[1].name), reverse=True):
        suite = _load_suite(str(file), mtime_ns)
        if suite is not None:
            yield file, suite


def newest_profile(url_path: str, directory: Path) -> dict[str, Any] | None:
    """The newest --profile of url_path: its configuration, shares, top functions and flame graph file."""
    for file, suite in _newest_first(directory):
        for run in suite.runs:
            if run.path.split("?", 1)[0] == url_path and run.profile is not None:
                return {
                    "label": run.label,
                    "file": file.name,
                    "measured_utc": suite.metadata.created_utc,
                    "shares": {kind: 100 * share for kind, share in run.profile.shares.items() if share >= 0.005},
                    "top": [asdict(cost) for cost in run.profile.top[:8]],
                    "flamegraph": run.profile.flamegraph,
                }
    return None


def measured_runs(url_path: str, directory: Path) -> list[dict[str, Any]]:
    """Per server configuration, the newest saved sweep of url_path: median r/s, quality and verdict."""
    found: dict[str, dict[str, Any]] = {}
    for file, suite in _newest_first(directory):
        for run in suite.runs:
            # The path without its query: /probes/sleep/?ms=20 is a result for /probes/sleep/.
            if run.path.split("?", 1)[0] != url_path or run.label in found or run.error or not run.samples:
                continue
            found[run.label] = {
                "label": run.label,
                "kind": run.kind,
                "workers": run.workers,
                "front": run.front,
                "path": run.path,
                "ok_per_s": run.summary.rps.median,
                "quality": run.quality,
                "verdict": str(getattr(run, "verdict", "") or ""),
                "file": file.name,
                "measured_utc": suite.metadata.created_utc,
            }
    return sorted(found.values(), key=lambda row: -row["ok_per_s"])


class ServeBenchPanel(Panel):
    """App wall and CPU time, DB time and queries of this request; the r/s they allow; servebench's figures."""

    title = "servebench"
    template = "probes/panel.html"

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        if "wall_ms" not in stats:
            return ""
        ceiling = stats["per_worker_rps"]
        return (
            f"{stats['wall_ms']:.1f} ms, ≤ {ceiling:,.0f} r/s per worker" if ceiling else f"{stats['wall_ms']:.1f} ms"
        )

    def process_request(self, request: HttpRequest) -> HttpResponse:
        tally = DbTally()
        # Every database, without the SQL panel: execute_wrapper is Django's own hook.
        with time_queries(tally):
            wall_start, cpu_start = time.perf_counter(), time.thread_time()
            response: HttpResponse = super().process_request(request)
            self._wall_s = time.perf_counter() - wall_start
            self._cpu_s = time.thread_time() - cpu_start
        self._queries = tally.queries
        self._db_s = tally.ns / 1e9
        return response

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        if not hasattr(self, "_wall_s"):
            return
        cores = usable_cores()
        wall_ms, cpu_ms = 1e3 * self._wall_s, 1e3 * self._cpu_s
        directory = results_dir()
        self.record_stats(
            {
                "path": request.path,
                "wall_ms": wall_ms,
                "cpu_ms": cpu_ms,
                "db_ms": 1e3 * self._db_s,
                "queries": self._queries,
                "cores": cores,
                # One single-threaded worker serves one request at a time: 1 / wall time.
                "per_worker_rps": 1e3 / wall_ms if wall_ms > 0 else None,
                # Every core busy with this view's CPU and nothing else: cores / CPU time.
                "machine_rps": cores * 1e3 / cpu_ms if cpu_ms > 0 else None,
                "results_dir": str(directory),
                "measured": measured_runs(request.path, directory),
                "profile": newest_profile(request.path, directory),
            }
        )
