"""--instrument-pairs for real: a timed and a plain server of the first configuration of each kind in
interleaved pairs before the sweep; one line per kind says what they found and what is booked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.servers.command import servebench

pytestmark = pytest.mark.servers


def test_the_first_configuration_of_each_kind_is_measured_timed_against_plain(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    argv = ["--probe", "trivial", "--server", "gunicorn", "--workers", "1,2", "--front", "direct"]
    argv += ["--duration", "0.3", "--warmup", "0.2", "--repeat", "2", "--max-repeat", "2", "--instrument-pairs", "6"]
    done = servebench(tmp_path, *argv, "--json", out)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads(out.read_text())
    lines = [note for note in saved["notes"] if note.startswith("timing wrapper under load")]
    assert len(lines) == 1, saved["notes"]  # gunicorn w1 only: the first of its kind
    [line] = lines
    assert line.startswith("timing wrapper under load, gunicorn w1 direct (6 timed/plain pairs): r/s "), line
    assert "95 %:" in line and "µs in-process" in line and "booked" in line, line
    assert "timing wrapper under load, gunicorn w1 direct" in done.stdout
    # What was booked is each window's instrument role: the in-process figure, or the pairs' when they proved more.
    booked_us = float(line.rsplit(" µs booked", 1)[0].rsplit(" ", 1)[1])
    for run in saved["runs"]:
        for sample in run["samples"]:
            per_request = 1e6 * sample["cpu_s"]["instrument"] / sample["app"]["requests"]
            assert per_request == pytest.approx(booked_us, abs=0.06), (run["label"], per_request, line)
