"""An A/B's result (--against*): its JSON keeps both sides and their order; every report shows the pairs in
time order and the changes with their intervals; --from and --compare read it."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from probes.bench.model.pairs import Against
from probes.bench.model.results import Suite
from probes.report import html_report, markdown_report, terminal_report
from tests.factories import METADATA, gunicorn_run, sample

# A drifts from 1000 to 650 r/s over the run; B is 3 % slower in each pair (its windows: a third less time).
A_RPS = [1000, 950, 900, 850, 800, 750, 700, 650]
B_RPS = [round(rps / 1.03) for rps in A_RPS]
ORDER = "ABBAABBAABBAABBA"


def ab_suite() -> Suite:
    a = gunicorn_run(1, path="/x/", quality="ok", label="A: gunicorn w1 nginx", samples=tuple(map(sample, A_RPS)))
    b = gunicorn_run(1, path="/x/", quality="ok", label="B: gunicorn w1 nginx", samples=tuple(map(sample, B_RPS)))
    against = Against("ref origin/main (0123456789)", "the project as it stands", a.label, b.label, ORDER)
    return Suite(metadata=METADATA, runs=(a, b), against=against)


def test_the_json_keeps_both_sides_and_their_order(tmp_path: Path) -> None:
    path = tmp_path / "ab.json"
    ab_suite().dump(path)
    saved = json.loads(path.read_text())
    assert saved["against"]["order"] == ORDER
    assert [run["label"] for run in saved["runs"]] == ["A: gunicorn w1 nginx", "B: gunicorn w1 nginx"]
    assert Suite.load(path) == ab_suite()


def test_a_result_of_one_side_saves_no_against(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    Suite(metadata=METADATA, runs=(gunicorn_run(1, path="/x/"),)).dump(path)
    assert "against" not in json.loads(path.read_text())


def test_markdown_shows_the_pairs_in_time_order_and_the_change() -> None:
    text = markdown_report(ab_suite())
    assert "- A: ref origin/main (0123456789)" in text
    # B is 3 % slower in every pair whatever the drift: the interval is the 3 % (rounded to whole requests, 3.0 %).
    assert "- r/s: B is 3.0 % slower (95 %: 3.0–3.0 %); B/A per pair: median 0.971 over 8 pairs" in text
    assert "| 1 | AB | 1,000 | 971 | 0.971 |" in text
    assert "| 2 | BA | 950 | 922 | 0.971 |" in text
    assert text.index("| 1 | AB |") < text.index("| 8 | BA |")
    # The two sides are not two configurations of a sweep: no t-test line beside the pairs' interval.
    assert "**comparisons**" not in text


def test_html_and_terminal_show_the_same_lines() -> None:
    page = html_report(ab_suite())
    assert "<h2>A/B in interleaved pairs</h2>" in page
    assert "<li>r/s: B is 3.0 % slower (95 %: 3.0–3.0 %); B/A per pair: median 0.971 over 8 pairs</li>" in page
    assert "<tr><td>8</td><td>BA</td><td>650</td><td>631</td><td>0.971</td></tr>" in page
    table = terminal_report(ab_suite(), job="render")
    assert "  r/s: B is 3.0 % slower (95 %: 3.0–3.0 %)" in table
    assert "     8     BA    650    631  0.971" in table


def test_from_and_compare_read_an_ab_result(tmp_path: Path) -> None:
    path = tmp_path / "ab.json"
    ab_suite().dump(path)
    out = StringIO()
    call_command("servebench", "--from", str(path), "--report", "-", stdout=out, stderr=StringIO())
    assert "| 8 | BA | 650 | 631 | 0.971 |" in out.getvalue()
    compared = StringIO()
    call_command("servebench", "--compare", str(path), str(path), stdout=compared)
    assert "A: gunicorn w1 nginx" in compared.getvalue() and "B: gunicorn w1 nginx" in compared.getvalue()
