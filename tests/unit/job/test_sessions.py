"""The --login-as session expires soon and is recognizable; what a killed run left is removed and said."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone

from probes.job import sessions


@pytest.fixture
def user() -> object:
    return get_user_model().objects.create_user("alice", password="x")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.mark.django_db
def test_the_login_session_expires_after_the_run(user: object) -> None:
    cookie, key = sessions.login_session("alice", expiry_s=sessions.login_expiry_s(120))
    assert cookie == "sessionid"
    assert key.startswith(f"{sessions.LOGIN_KEY_PREFIX}{os.getpid()}z")
    expires = Session.objects.get(session_key=key).expire_date
    expected = timezone.now() + timedelta(seconds=120 + sessions.LOGIN_MARGIN_S)
    assert abs((expires - expected).total_seconds()) < 5


@pytest.mark.django_db
def test_what_a_killed_run_left_is_removed_and_said(user: object) -> None:
    store_class = sessions.probe_store_class("django.contrib.sessions.backends.db")
    for _ in range(3):
        store_class().save()
    _, mine = sessions.login_session("alice", expiry_s=60)
    orphan = f"{sessions.LOGIN_KEY_PREFIX}{_dead_pid()}z" + "a" * 20
    Session.objects.create(session_key=orphan, session_data="", expire_date=timezone.now() + timedelta(days=14))
    Session.objects.create(session_key="userkey" + "b" * 25, session_data="", expire_date=timezone.now())
    messages = sessions.remove_stale_sessions()
    assert messages == [
        "removed 3 probe session(s) an earlier run left in the 'default' database",
        "removed 1 --login-as session(s) an earlier, killed run left valid",
    ]
    left = set(Session.objects.values_list("session_key", flat=True))
    assert left == {mine, "userkey" + "b" * 25}  # a live run's login and the project's own stay
    assert sessions.remove_stale_sessions() == []


@pytest.mark.django_db
def test_the_project_reads_the_login_session(user: object) -> None:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import SESSION_KEY

    _, key = sessions.login_session("alice", expiry_s=60)
    # The project's own store, as its middleware loads it: the signature must match.
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    assert store[SESSION_KEY] == str(user.pk)  # type: ignore[attr-defined]
