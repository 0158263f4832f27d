"""The scaling line's "what to do" is the fit's own advice, never another verdict's (issue 20)."""

from __future__ import annotations

from dataclasses import replace

from probes.bench.judge.rules import diagnose
from probes.bench.judge.scaling import ScalingPoint, scaling
from probes.report.sweep_lines import scaling_lines
from tests.factories import gunicorn_run, sample


def test_the_scaling_line_advises_from_the_fit_not_from_the_largest_runs_verdict() -> None:
    points = [ScalingPoint(n, 300.0 * n / (1 + 0.1 * n * (n - 1)), None, 32) for n in (1, 2, 4, 8) for _ in range(2)]
    fitted = scaling(points, cores=2)
    run = gunicorn_run(8, path="/x", samples=(sample(100.0),), quality="ok")
    diagnosis = replace(diagnose(run, None), advice="more workers cannot help: a contended run's own advice")
    (line,) = scaling_lines([replace(run, diagnosis=replace(diagnosis, scaling=fitted))])
    assert line.endswith(f"; what to do: {fitted.advice}")
    assert "more workers cannot help" not in line
    # Saved before the fit had advice of its own: the run's, as it was printed then.
    (old,) = scaling_lines([replace(run, diagnosis=replace(diagnosis, scaling=replace(fitted, advice="")))])
    assert old.endswith("; what to do: more workers cannot help: a contended run's own advice")
