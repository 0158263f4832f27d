"""--against, --against-ref, --against-settings: refused in one line before anything starts."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.bench.judge.pairs import LEAST_PAIRS, MOST_PAIRS
from probes.cli.plan import build_plan
from probes.job.gitref import GitRefError, resolve_ref

ROOT = Path(__file__).resolve().parents[3]
ONE = ["--server", "gunicorn", "--workers", "1", "--front", "direct", "--url", "/probes/trivial/"]

CASES: list[tuple[list[str], str]] = [
    (
        [*ONE, "--against-settings", "settings.bench", "--against", "/tmp"],
        "--against and --against-settings: give one side A, not 2",
    ),
    (["--url", "/x/", "--against-settings", "settings.bench", "--workers", "1,2"], "measures one server configuration"),
    (
        ["--url", "/x/", "--against-settings", "settings.bench", "--server", "gunicorn", "--server", "uwsgi"],
        "measures one server configuration, not 2",
    ),
    ([*ONE, "--pairs", "8"], "--pairs goes with --against, --against-ref or --against-settings"),
    ([*ONE, "--against-settings", "settings.bench", "--pairs", "5"], "--pairs must be between 6"),
    ([*ONE, "--against-settings", "settings.nowhere_to_be_found"], "no such module on the project's Python path"),
    ([*ONE, "--against-settings", "settings/bench"], "not a dotted module name"),
    ([*ONE, "--against-settings", "settings.test"], "that is the settings in use (B)"),
    ([*ONE, "--against", "/nonexistent/checkout"], "--against /nonexistent/checkout: not a directory"),
    ([*ONE, "--against", "/tmp"], "no manage.py there"),
    ([*ONE, "--against-settings", "settings.bench", "--fail-if-slower", "-1"], "--fail-if-slower takes a percentage"),
    ([*ONE, "--against-settings", "settings.bench", "--check"], "it takes no --check"),
    ([*ONE, "--against-settings", "settings.bench", "--concurrency", "1,2"], "at one --concurrency, not a list"),
    ([*ONE, "--fail-if-slower", "5"], "--fail-if-slower goes with --compare A.json B.json or --against*"),
]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_bad_against_input_is_one_line_and_starts_nothing(
    argv: list[str], message: str, nothing_starts: Callable[[], None]
) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("servebench", *argv, stdout=StringIO(), stderr=StringIO())
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    nothing_starts()


def test_a_ref_that_names_no_commit_is_refused_before_any_server(tmp_path: Path) -> None:
    runs_before = set(Path(tempfile.gettempdir()).glob("servebench-*"))
    with pytest.raises(CommandError) as refused:
        call_command("servebench", *ONE, "--against-ref", "no-such-branch-xyz", stdout=StringIO(), stderr=StringIO())
    assert str(refused.value) == f"--against-ref no-such-branch-xyz: no such commit in {ROOT}"
    assert set(Path(tempfile.gettempdir()).glob("servebench-*")) == runs_before


def test_an_option_looking_ref_is_never_passed_to_git() -> None:
    with pytest.raises(GitRefError, match="not a git ref"):
        resolve_ref("--output=/tmp/x", where=ROOT)


def test_a_ref_resolves_to_its_commit() -> None:
    root, commit = resolve_ref("HEAD", where=ROOT)
    assert root == ROOT and len(commit) == 40


def test_an_ab_defaults_to_one_configuration_and_pairs_until_sure() -> None:
    options = _options(url="/x/", against_settings="settings.bench", front=["direct"])
    plan = build_plan(options)
    assert plan.against is not None
    assert (plan.against.kind, plan.against.value) == ("settings", "settings.bench")
    assert (plan.against.pairs, plan.against.most) == (LEAST_PAIRS, MOST_PAIRS)
    assert plan.against.counted.startswith(f"{LEAST_PAIRS} to {MOST_PAIRS} pairs (until r/s is known to ±")
    assert [config.label for config in plan.configs] == ["gunicorn w1 direct"]


def test_pairs_given_are_exactly_that_many() -> None:
    plan = build_plan(_options(url="/x/", against_settings="settings.bench", front=["direct"], pairs=10))
    assert plan.against is not None and (plan.against.pairs, plan.against.most, plan.against.counted) == (
        10,
        10,
        "10 pairs",
    )


def _options(**given: object) -> dict[str, object]:
    """The parsed options of `servebench` with `given` over the defaults, as call_command would pass them."""
    from django.core.management import load_command_class

    command = load_command_class("probes", "servebench")
    parser = command.create_parser("manage.py", "servebench")
    return {**vars(parser.parse_args([])), **given}
