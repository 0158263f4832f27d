"""`manage.py servebench --view-cost` through call_command, and its result model."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.bench.model.results import FORMAT, FormatError, Suite, ViewCost
from probes.bench.model.stats import median, percentile
from probes.catalog import PROBES
from probes.report.terminal import view_cost_table
from tests.conftest import require_binary
from tests.factories import METADATA


def _rows(output: str) -> dict[str, list[str]]:
    names = {probe.name for probe in PROBES}
    return {
        line.split()[0]: line.split() for line in output.splitlines() if line.split()[:1] and line.split()[0] in names
    }


@pytest.mark.django_db(transaction=True)
def test_view_cost_prints_a_row_per_probe(private_caches: None, tmp_path: Path) -> None:
    require_binary("memcached")
    out = StringIO()
    call_command("servebench", "--view-cost", "--json", str(tmp_path / "cost.json"), stdout=out)
    rows = _rows(out.getvalue())
    assert set(rows) == {probe.name for probe in PROBES}
    for name, cells in rows.items():
        assert cells[1] == "200", name
        wall, p90, cpu = (float(cell.replace(",", "")) for cell in cells[2:5])
        assert 0 < wall <= p90, name
        assert cpu > 0, name
    wall_of = {name: float(cells[2].replace(",", "")) for name, cells in rows.items()}
    assert wall_of["trivial"] < wall_of["template-django"]
    assert wall_of["trivial"] < wall_of["template-jinja2"]
    saved = Suite.load(tmp_path / "cost.json")
    assert [cost.name for cost in saved.view_costs] == [probe.name for probe in PROBES]


@pytest.mark.django_db(transaction=True)
def test_one_probe_and_json(tmp_path: Path) -> None:
    out = StringIO()
    call_command("servebench", "--view-cost", "--probe", "trivial", "--json", str(tmp_path / "r.json"), stdout=out)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["format"] == FORMAT
    assert [cost["name"] for cost in data["view_costs"]] == ["trivial"]
    assert data["view_costs"][0]["response_bytes"] == len(b"Hello, World!\n")


def test_unknown_probe_is_one_clear_line() -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command("servebench", "--view-cost", "--probe", "nope", stdout=StringIO())
    message = str(excinfo.value)
    assert "unknown probe 'nope'" in message and "trivial" in message
    assert "\n" not in message


def test_unreachable_memcached_is_one_clear_line() -> None:
    from probes.bench.processes.ports import free_port

    with pytest.raises(CommandError, match="no memcached answers at 127.0.0.1:"):
        call_command(
            "servebench",
            "--probe",
            "session-cache",
            "--memcached",
            f"127.0.0.1:{free_port()}",
            stdout=StringIO(),
        )


def _suite() -> Suite:
    cost = ViewCost(
        name="session-db",
        path="/probes/session-db/",
        status=200,
        iterations=100,
        wall_us_median=20_000.0,
        wall_us_p90=22_000.0,
        wall_us_min=19_000.0,
        cpu_us_median=5_000.0,
        response_bytes=18,
        spread_pct=10.0,
    )
    return Suite(metadata=METADATA, view_costs=(cost,))


def test_suite_json_round_trip(tmp_path: Path) -> None:
    suite = _suite()
    suite.dump(tmp_path / "s.json")
    assert Suite.load(tmp_path / "s.json") == suite


def test_other_formats_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"format": "pyperf/1"}')
    with pytest.raises(FormatError, match="not a servebench/1 result"):
        Suite.load(tmp_path / "x.json")


def test_ceilings_from_the_view_cost() -> None:
    cost = _suite().view_costs[0]
    # The classic case: a 20 ms view caps one worker at 50 r/s.
    assert cost.per_worker_rps == pytest.approx(50.0)
    assert cost.machine_rps(2) == pytest.approx(400.0)


def test_view_cost_table_shows_the_ceilings() -> None:
    table = view_cost_table(_suite())
    row = next(line for line in table.splitlines() if line.startswith("session-db"))
    assert row.split() == ["session-db", "200", "20,000.0", "22,000.0", "5,000.0", "18", "50", "400", "100"]


def test_percentiles_are_exact() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert median(values) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0
    with pytest.raises(ValueError):
        percentile([], 50)
