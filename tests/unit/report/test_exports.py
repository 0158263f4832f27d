"""Markdown, CSV and HTML reports of a Suite built in memory, and --from (exact expectations)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from probes.bench.model.results import Suite
from probes.report.csv import csv_report
from probes.report.html import html_report, nice_ticks
from probes.report.markdown import markdown_report
from tests.factories import METADATA, run

SUITE = Suite(
    metadata=METADATA,
    runs=(
        run(1, [1000.0, 1100.0, 900.0], verdict="worker-limited"),
        run(2, [1800.0, 1900.0, 2000.0], verdict="cpu-saturated"),
    ),
)
HEADER = (
    "**servebench** on h (Linux), 2 of 2 cores, load 0.10, Python 3.11.7, Django 5.2,"
    " measured 2026-11-26T00:00:00+00:00; command: `python manage.py servebench --url /probes/trivial/"
    " --server gunicorn --workers 1,2 --front nginx --socket tcp --loadgen wrk --repeat 3`"
)


def test_markdown_is_a_header_line_a_github_table_and_the_memory_model() -> None:
    lines = markdown_report(SUITE).splitlines()
    assert lines[0] == HEADER
    start = lines.index(
        "| server | workers | front | r/s median (min–max) | p50 ms | p99 ms | errors | serving"
        " | USS/worker MB | total PSS MB | CPU µs/req client/nginx/server/view | quality | verdict |"
    )
    assert lines[start + 1] == "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---|---|---|"
    assert lines[start + 2] == (
        "| gunicorn | 1 | nginx/tcp | 1,000 (900–1,100) | 2.50 | 9.25 | 0 | 2/1 | 20.0 | 45.0 | 50/100/500/-"
        " | ok | worker-limited |"
    )
    assert lines[start + 3].startswith("| gunicorn | 2 | nginx/tcp | 1,900 (1,800–2,000) |")
    assert lines[start + 3].endswith("| 2/2 | 20.0 | 75.0 | 26/53/263/- | ok | cpu-saturated |")
    assert "- gunicorn [nginx]: total PSS ≈ 15.0 MB + 30.0 MB × workers (r² 1.00, 2 points)" in lines
    assert "- gunicorn ran 1.9 ± 0.1x faster than gunicorn (trivial, 2 workers behind nginx/tcp)" not in lines


def test_a_pipe_in_a_cell_does_not_split_the_row() -> None:
    suite = replace(SUITE, runs=(replace(SUITE.runs[0], verdict="a|b"),))
    row = next(line for line in markdown_report(suite).splitlines() if line.startswith("| gunicorn"))
    assert row.endswith("| ok | a\\|b |")
    assert row.count(" | ") == 12


def test_csv_has_a_stable_header_with_units_and_one_row_per_configuration() -> None:
    rows = list(csv.reader(io.StringIO(csv_report(SUITE))))
    assert rows[0] == [
        "path", "server", "app", "workers", "threads", "front", "socket", "concurrency", "keepalive", "generator",
        "repeats", "rps_median", "rps_min", "rps_max", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
        "errors", "uss_per_worker_bytes", "total_pss_bytes", "cpu_client_us_per_request",
        "cpu_nginx_us_per_request", "cpu_server_us_per_request", "cpu_view_us_per_request",
        "cpu_instrument_us_per_request", "cpu_memcached_us_per_request", "cpu_database_us_per_request",
        "cpu_servebench_us_per_request", "quality", "verdict",
    ]  # fmt: skip
    assert rows[1] == [
        "/probes/trivial/", "gunicorn", "project", "1", "1", "nginx", "tcp", "8", "yes", "wrk", "3",
        "1000.0", "900.0", "1100.0", "2.500", "4.000", "9.250", "0", "20000000", "45000000",
        "50.0", "100.0", "500.0", "", "", "", "", "", "ok", "worker-limited",
    ]  # fmt: skip
    assert [row[3] for row in rows[1:]] == ["1", "2"]


def test_nice_ticks_are_round_steps_up_to_the_top() -> None:
    assert nice_ticks(6641.0) == [0.0, 2000.0, 4000.0, 6000.0, 8000.0]
    assert nice_ticks(38.0) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert nice_ticks(0.0) == [0.0, 1.0]


def test_html_is_self_contained_with_its_four_charts() -> None:
    page = html_report(SUITE)
    assert page.count("<svg") == 4  # r/s, CPU by role, latency, memory
    assert page.count('class="rate"') == 2 and page.count('class="whisker"') == 6
    assert page.count('class="role-server"') == 2 + 1  # two bars and the legend
    assert page.count('class="fit series-0"') == 1  # the fitted PSS line
    assert "15.0 MB + 30.0 MB × workers (r² 1.00)" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page and "<link" not in page
    assert "<td>5.2</td>" in page  # the metadata's versions


def test_html_escapes_what_the_result_says() -> None:
    suite = replace(SUITE, notes=("<b>x</b>",))
    assert "&lt;b&gt;x&lt;/b&gt;" in html_report(suite) and "<b>x</b>" not in html_report(suite)


def test_from_renders_a_saved_result_into_every_format(tmp_path: Path) -> None:
    saved = tmp_path / "results.json"
    SUITE.dump(saved)
    out, err = StringIO(), StringIO()
    reports = [tmp_path / "r.md", tmp_path / "r.csv", tmp_path / "r.html"]
    argv = [arg for path in reports for arg in ("--report", str(path))]
    call_command("servebench", "--from", str(saved), *argv, stdout=out, stderr=err)
    assert reports[0].read_text() == markdown_report(SUITE)
    assert reports[1].read_bytes().decode() == csv_report(SUITE)
    assert reports[2].read_text() == html_report(SUITE)
    assert "1,000 (900–1,100)" in out.getvalue()  # the terminal table
    assert out.getvalue().rstrip().endswith(f"wrote {reports[2]}")


def test_report_dash_puts_the_markdown_alone_on_stdout(tmp_path: Path) -> None:
    saved = tmp_path / "results.json"
    SUITE.dump(saved)
    out, err = StringIO(), StringIO()
    call_command("servebench", "--from", str(saved), "--report", "-", stdout=out, stderr=err)
    assert out.getvalue() == markdown_report(SUITE)
    assert "1,000 (900–1,100)" in err.getvalue()
