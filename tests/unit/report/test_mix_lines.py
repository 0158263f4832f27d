"""A --urls mix is reported per URL (sent, answered, statuses, latency where the generator gives it) and as a
whole, in every report, and survives the trip through the saved JSON."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.loadgen.requests import RequestFigures
from probes.bench.model.results import Suite
from probes.report.markdown import markdown_report
from probes.report.mix_lines import mix_lines
from tests.factories import METADATA, gunicorn_run, sample

BUILTIN = (
    RequestFigures("GET /a/", 1, sent=100, responses=99, status_counts={200: 99}, latency_ms={"p50": 1.5}),
    RequestFigures("POST /b/", 3, sent=300, responses=300, status_counts={200: 290, 403: 10}, latency_ms={"p50": 2.5}),
)
WRK = (RequestFigures("GET /a/", 1, sent=250), RequestFigures("POST /b/", 3, sent=750))


def test_each_request_of_a_mix_has_its_line() -> None:
    run = gunicorn_run(1, path="/a/", samples=(replace(sample(100), per_request=BUILTIN),) * 2)
    assert mix_lines([run]) == [
        "a mix of 2 requests (--urls), measured as one load: the table is the whole mix's",
        "mix: GET /a/ weight 1 (25 %): 25.0 % of 800 sent, 198 answered (200: 198), p50 1.50 ms"
        " (median of 2 window(s))",
        "mix: POST /b/ weight 3 (75 %): 75.0 % of 800 sent, 600 answered (200: 580, 403: 20), p50 2.50 ms"
        " (median of 2 window(s))",
    ]
    wrk = gunicorn_run(1, path="/a/", samples=(replace(sample(100), per_request=WRK),))
    assert mix_lines([wrk])[2] == (
        "mix: POST /b/ weight 3 (75 %): 75.0 % of 1,000 sent (wrk: requests sent only, no status or latency per URL)"
    )
    assert mix_lines([gunicorn_run(1, path="/a/", samples=(sample(100),))]) == []


def test_the_mix_reaches_the_report_through_the_saved_json(tmp_path: object) -> None:
    run = gunicorn_run(1, path="/a/", samples=(replace(sample(100), per_request=BUILTIN),))
    suite = Suite.from_dict(Suite(metadata=METADATA, runs=(run,)).to_dict())
    assert suite.runs[0].samples[0].per_request == BUILTIN
    assert "mix: POST /b/ weight 3 (75 %)" in markdown_report(suite)
