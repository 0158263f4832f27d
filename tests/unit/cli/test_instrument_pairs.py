"""--instrument-pairs N: refused in one line before anything starts; given to the load plan when it runs."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from probes.cli.plan import build_plan

ONE = ["--server", "gunicorn", "--workers", "1", "--front", "direct", "--url", "/probes/trivial/"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*ONE, "--instrument-pairs", "5"], "--instrument-pairs must be between 6 (a 95 % interval needs them) and 50"),
        ([*ONE, "--instrument-pairs", "51"], "and 50, not 51"),
        ([*ONE, "--instrument-pairs", "6", "--no-timing"], "measures the timing wrapper: not with --no-timing"),
        ([*ONE, "--instrument-pairs", "6", "--check"], "--instrument-pairs goes with a sweep"),
        ([*ONE, "--instrument-pairs", "6", "--against-settings", "settings.bench"], "goes with a sweep"),
    ],
)
def test_bad_instrument_pairs_are_one_line_and_start_nothing(
    argv: list[str], message: str, nothing_starts: Callable[[], None]
) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("servebench", *argv, stdout=StringIO(), stderr=StringIO())
    assert message in str(refused.value) and "\n" not in str(refused.value)
    nothing_starts()


def test_the_pairs_reach_the_load_plan() -> None:
    plans = [build_plan(options(argv)) for argv in ([*ONE, "--instrument-pairs", "6"], ONE)]
    assert [plan.load.instrument_pairs for plan in plans if plan.load] == [6, 0]


def options(argv: list[str]) -> dict[str, object]:
    """The parsed options of `servebench argv`, as call_command would pass them."""
    from django.core.management import load_command_class

    command = load_command_class("probes", "servebench")
    return vars(command.create_parser("manage.py", "servebench").parse_args(argv))
