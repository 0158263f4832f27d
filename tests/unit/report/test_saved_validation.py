"""Saved results are validated on load (--from, --compare): a regular file of bounded size and nesting,
every figure finite and in range; a damaged file is one line naming the file and the field."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from probes.bench.model import saved
from probes.bench.model.results import FormatError, Suite
from probes.report.compare import CompareError, load_for_compare
from tests.factories import METADATA, run

# Each damage: (where in the JSON, the value written there, the field the line must name).
DAMAGES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (lambda d: d["runs"][0]["samples"][1].update(ok=-2000), "runs[0].samples[1].ok is -2000"),
    (lambda d: d["runs"][0]["samples"][0].update(duration_s=-2.0), "runs[0].samples[0].duration_s is -2"),
    (lambda d: d["runs"][0]["samples"][2]["latency_ms"].update(p99=float("nan")), "latency_ms.p99 is nan"),
    (lambda d: d["runs"][0]["samples"][0]["cpu_s"].update(server=float("inf")), "cpu_s.server is inf"),
    (lambda d: d["runs"][0]["samples"][0].update(requests=10), "runs[0].samples[0].ok is 8000, more than its 10"),
    (lambda d: d["runs"][0].update(concurrency=-8), "runs[0].concurrency is -8"),
    (lambda d: d["runs"][0]["memory"][0].update(pss_bytes=-1), "runs[0].memory[0].pss_bytes is -1"),
]


def good() -> dict[str, Any]:
    return Suite(metadata=METADATA, runs=(run(2, [4000.0, 4000.0, 4000.0]),)).to_dict()


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))  # NaN and Infinity as Python writes them
    return path


@pytest.mark.parametrize(("damage", "field"), DAMAGES, ids=[field for _, field in DAMAGES])
def test_a_figure_out_of_range_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, damage: Callable[[dict[str, Any]], None], field: str
) -> None:
    data = good()
    damage(data)
    path = write(tmp_path / "B.json", data)
    with pytest.raises(FormatError) as raised:
        Suite.load(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert field in str(raised.value)
    with pytest.raises(CompareError) as compared:
        load_for_compare(path)
    assert str(compared.value).startswith(f"{path}: ") and field in str(compared.value)
    assert "\n" not in str(compared.value)


def test_what_may_be_negative_still_loads(tmp_path: Path) -> None:
    data = good()
    # The timing wrapper's cost is a difference of two measurements: below zero within noise.
    data["instrument"] = [
        {"path": "/x", "us_per_request": -0.2, "us_min": -1.0, "us_max": 0.5, "pairs": 11}
        | {"calls_per_block": 100, "plain_us_per_request": 50.0}
    ]
    assert Suite.load(write(tmp_path / "s.json", data)).instrument[0].us_min == -1.0


@pytest.mark.parametrize("depth", [40, 200_000])
def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"format": "servebench/1", "metadata": ' + "[" * depth + "]" * depth + "}")
    for load in (Suite.load, load_for_compare):
        with pytest.raises(ValueError, match=r"deep\.json: nested deeper than 32 levels"):
            load(path)


def test_dev_zero_a_fifo_and_a_directory_are_no_regular_files(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it for reading would wait for a writer forever
    for path, kind in ((Path("/dev/zero"), "a character device"), (tmp_path / "fifo", "a FIFO"), (tmp_path, "a dir")):
        started = time.monotonic()
        with pytest.raises(FormatError, match=f"^{path}: not a regular file \\({kind}"):
            Suite.load(path)
        with pytest.raises(CompareError, match=f"^{path}: not a regular file"):
            load_for_compare(path)
        assert time.monotonic() - started < 1.0


def test_a_file_above_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(saved.MAX_RESULT_BYTES + 2**20)  # sparse: reading it would take 65 MB of memory
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with pytest.raises(FormatError, match=r"huge\.json: larger than 64 MB"):
        Suite.load(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 16 * 1024
    assert saved.MAX_RESULT_BYTES == 64 * 2**20


def test_the_compare_gate_does_not_pass_a_damaged_b(tmp_path: Path) -> None:
    a = write(tmp_path / "A.json", good())
    damaged = good()
    for item in damaged["runs"][0]["samples"]:
        item["ok"] = -item["ok"]
    b = write(tmp_path / "B.json", damaged)
    with pytest.raises(CommandError) as raised:
        call_command(
            "servebench", "--compare", str(a), str(b), "--fail-if-slower", "10", stdout=StringIO(), stderr=StringIO()
        )
    assert str(raised.value) == f"{b}: runs[0].samples[0].ok is -8000: a count, duration or rate is never negative"
    assert raised.value.returncode != 0


def test_from_refuses_a_damaged_file_in_one_line(tmp_path: Path) -> None:
    data = good()
    data["runs"][0]["samples"][0]["latency_ms"]["p50"] = float("nan")
    path = write(tmp_path / "s.json", data)
    with pytest.raises(CommandError) as raised:
        call_command("servebench", "--from", str(path), stdout=StringIO(), stderr=StringIO())
    assert str(raised.value) == (
        f"--from {path}: runs[0].samples[0].latency_ms.p50 is nan: every figure of a result is a finite number"
    )
