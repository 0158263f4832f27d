"""Two real runs, DEBUG on then off: each result records its settings and warnings, and --compare says first
that DEBUG differs (a DEBUG=True A against a DEBUG=False B reads faster with no change to the code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.servers.command import servebench

pytestmark = pytest.mark.servers
SHORT = ["--probe", "trivial", "--server", "gunicorn", "--workers", "1", "--front", "direct"]
SHORT += ["--duration", "0.5", "--warmup", "0.2", "--repeat", "2", "--max-repeat", "2", "--loadgen", "builtin"]


def test_compare_says_first_that_debug_differs(tmp_path: Path) -> None:
    on, off = tmp_path / "debug-on.json", tmp_path / "debug-off.json"
    for settings, path in (("tests.settings_debug_on", on), ("settings.test", off)):
        done = servebench(tmp_path, *SHORT, "--json", path, settings=settings)
        assert done.returncode == 0, done.stderr[-2000:]
    recorded = json.loads(on.read_text())
    assert recorded["metadata"]["settings"]["debug"] is True
    assert "servebench.W001" in [warning["id"] for warning in recorded["preflight"]]
    assert json.loads(off.read_text())["metadata"]["settings"]["debug"] is False
    rendered = servebench(tmp_path, "--from", on).stdout.splitlines()
    assert rendered[0].startswith("settings tests.settings_debug_on: DEBUG True, CONN_MAX_AGE 0, sessions db,")
    assert rendered[1].startswith("warning servebench.W001: DEBUG is True")
    compared = servebench(tmp_path, "--compare", on, off)
    assert compared.returncode == 0, compared.stderr[-2000:]
    lines = compared.stdout.splitlines()
    assert lines[:3] == [
        "DEBUG: True in A, False in B",
        "settings module: tests.settings_debug_on in A, settings.test in B",
        "warning servebench.W001: raised in A, not raised in B",
    ], compared.stdout
