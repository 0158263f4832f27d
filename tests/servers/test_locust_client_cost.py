"""--loadgen locust through the command: the report says how many cores locust's workers needed, against
wrk's CPU per request on the same URL (measured after the warm-up), so a user knows when wrk is the better
client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.servers.command import servebench

pytestmark = pytest.mark.servers


def test_the_report_gives_locusts_cores_against_wrks_cost(tmp_path: Path) -> None:
    require_binary("wrk")
    out = tmp_path / "out.json"
    argv = ["--probe", "trivial", "--server", "gunicorn", "--workers", "1", "--front", "direct", "--loadgen", "locust"]
    argv += ["--duration", "1", "--warmup", "0.5", "--repeat", "2", "--max-repeat", "2"]
    done = servebench(tmp_path, *argv, "--json", out)
    assert done.returncode == 0, done.stderr[-2000:]
    [run] = json.loads(out.read_text())["runs"]
    wrk_us = run["client_reference_us"]
    locust_us = [1e6 * s["cpu_s"]["client"] / s["requests"] for s in run["samples"]]
    # A Python client spends many times a C client's CPU per request on the same URL.
    assert wrk_us is not None and 0 < 3 * wrk_us < min(locust_us), (wrk_us, locust_us)
    [line] = [line for line in done.stdout.splitlines() if "locust's workers needed" in line]
    assert "cores for" in line and "wrk on this URL:" in line and "x)" in line, line
