"""Inputs that used to run and then blame the wrong thing are refused at once, naming the real cause;
a --login-as superuser is warned about."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from probes.cli.plan import Plan, build_plan
from probes.management.commands.servebench import Command


def refusal(*argv: str) -> str:
    with pytest.raises(CommandError) as raised:
        call_command("servebench", *argv, stdout=StringIO(), stderr=StringIO())
    line = str(raised.value)
    assert "\n" not in line and "Traceback" not in line and raised.value.returncode != 0
    return line


def plan_of(*argv: str) -> Plan:
    parser = Command().create_parser("manage.py", "servebench")
    return build_plan(vars(parser.parse_args(argv)))


@pytest.fixture
def own_users_database(settings: Any) -> None:
    """The project's own database is the one --login-as reads (not the demo's fresh copies)."""
    settings.SERVEBENCH = {**settings.SERVEBENCH, "OWN_DATABASE": False}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_user", "line"),
    [
        (
            lambda model: model.objects.create_user("bob", password="x", is_active=False),
            "--login-as bob: the user is inactive, so Django treats its session as logged out",
        ),
        (lambda model: None, "--login-as: no user 'bob' in the project's database"),
    ],
)
def test_a_login_that_would_not_log_in_is_refused_before_anything_starts(
    own_users_database: None, nothing_starts: Callable[[], None], make_user: Callable[[Any], object], line: str
) -> None:
    make_user(get_user_model())
    assert refusal("--login-as", "bob", "--front", "direct", "--workers", "1") == line
    nothing_starts()


@pytest.mark.django_db
def test_a_user_the_backend_refuses_is_refused(own_users_database: None, settings: Any) -> None:
    get_user_model().objects.create_user("carol", password="x")
    settings.AUTHENTICATION_BACKENDS = ["tests.unit.cli.test_right_cause.NobodyBackend"]
    assert refusal("--login-as", "carol", "--front", "direct") == (
        "--login-as carol: tests.unit.cli.test_right_cause.NobodyBackend does not accept the user:"
        " its session would not log in"
    )


class NobodyBackend:
    """An authentication backend that gives no user back."""

    def get_user(self, user_id: object) -> None:
        return None


@pytest.mark.django_db
def test_a_superuser_login_is_warned_about(own_users_database: None, monkeypatch: pytest.MonkeyPatch) -> None:
    get_user_model().objects.create_superuser("root", password="x")
    get_user_model().objects.create_user("alice", password="x")
    assert plan_of("--login-as", "alice", "--front", "direct").notices == ()
    plan = plan_of("--login-as", "root", "--front", "direct")
    [notice] = plan.notices
    assert notice.startswith("--login-as root is a superuser: every permission check passes")

    # run_job says it first, before anything starts.
    from probes.job import run

    class Stop(Exception):
        pass

    def stop() -> list[str]:
        raise Stop

    monkeypatch.setattr(run, "reclaim_orphans", stop)
    warned: list[str] = []
    monkeypatch.setattr(run, "_preflight", lambda plan, warn: [])
    with pytest.raises(Stop):
        run.run_job(plan, progress=lambda message: None, warn=warned.append)
    assert warned == [notice]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--url", "//evil.example/probes/trivial/"],
            "--url takes a path of this project such as /probes/trivial/, not '//evil.example/probes/trivial/':"
            " servebench only ever loads servers it started on this machine ('//' starts a host name)",
        ),
        (["--header", "X-Big: " + "a" * 100_000], "--header X-Big: the value is 100000 characters long"),
        (["--workers", " 1, 1"], "--workers ' 1, 1' names 1 twice: each count is one configuration, measured once"),
        (["--workers", "1,4,1"], "--workers '1,4,1' names 1 twice"),
        (
            ["--server", "gunicorn", "--server", "gunicorn", "--front", "direct", "--workers", "1"],
            "gunicorn w1 direct is asked for twice: give each --server, --front and --socket once",
        ),
    ],
)
def test_inputs_that_blamed_the_wrong_thing_are_refused(
    argv: list[str], line: str, nothing_starts: Callable[[], None]
) -> None:
    assert line in refusal(*argv)
    nothing_starts()


def test_a_header_value_of_8000_characters_is_accepted() -> None:
    from probes.cli.inputs import checked_header

    assert checked_header("X-Big: " + "a" * 8000) == ("X-Big", "a" * 8000)
