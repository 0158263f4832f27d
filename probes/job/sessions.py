"""Sessions servebench creates in the project's store: the probes' own (recognizable, removed
afterwards) and the one --login-as sends as a cookie."""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.db import DatabaseError, connections, router
from django.utils.crypto import get_random_string

# Every probe session key starts with this: cleanup never touches the project's own sessions.
PROBE_KEY_PREFIX = "sbprobe"
# The --login-as session: "sblogin<pid of servebench>z<random>", so a later run can tell
# whether the run that made it is still alive.
LOGIN_KEY_PREFIX = "sblogin"
# Beyond the run's own length: the login session outlives a run by at most this much.
LOGIN_MARGIN_S = 300
# When the caller does not say how long the run lasts.
DEFAULT_LOGIN_EXPIRY_S = 3600
# Probe sessions in a cache cannot be listed: they expire soon instead.
PROBE_SESSION_AGE_S = 300
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


class LoginError(ValueError):
    """--login-as names no user of the project's database, or one whose session would not be logged in."""


def check_login(username: str) -> tuple[str, ...]:
    """The warnings a --login-as user calls for; LoginError (one line) when its session would not log in.

    Asked before anything starts: an inactive user's session is created fine, then every page
    answers as if logged out ("the page needs a login"), which blames the wrong thing.
    """
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise LoginError(f"--login-as: no user {username!r} in the project's database") from None
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoginError(f"--login-as: the project's database cannot be read ({first})") from None
    backend_path = settings.AUTHENTICATION_BACKENDS[0]
    # What Django does with the session on each request: the backend gives the user back, or it is anonymous.
    if load_backend(backend_path).get_user(user.pk) is None:
        if getattr(user, "is_active", True) is False:
            raise LoginError(f"--login-as {username}: the user is inactive, so Django treats its session as logged out")
        raise LoginError(
            f"--login-as {username}: {backend_path} does not accept the user: its session would not log in"
        )
    if getattr(user, "is_superuser", False):
        return (
            f"--login-as {username} is a superuser: every permission check passes, so the pages measured may not be"
            " what your users get, and the run holds a superuser's session until it ends",
        )
    return ()


def probe_store_class(engine: str) -> type:
    """The engine's SessionStore, its new keys marked as servebench's."""
    base: Any = import_module(engine).SessionStore
    if engine.endswith("signed_cookies"):
        return base  # nothing stored server-side

    class ProbeSessionStore(base):  # type: ignore[misc, valid-type]
        def _get_new_session_key(self) -> str:
            while True:
                key = PROBE_KEY_PREFIX + get_random_string(32 - len(PROBE_KEY_PREFIX), _KEY_CHARS)
                if not self.exists(key):
                    return key

    ProbeSessionStore.__name__ = f"Probe{base.__name__}"
    return ProbeSessionStore


def new_csrf_secret() -> str:
    """A CSRF secret as Django makes one (its cookie's value, or the session's with CSRF_USE_SESSIONS)."""
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

    return get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)


def login_headers(cookie: str, key: str, csrf_secret: str | None = None) -> tuple[tuple[str, str], ...]:
    """The headers of --login-as's requests: its session cookie and, for requests that change data, the CSRF
    token Django's CsrfViewMiddleware checks (the secret in its cookie, or in the session, and in its header)."""
    if csrf_secret is None:
        return (("Cookie", f"{cookie}={key}"),)
    cookies = f"{cookie}={key}"
    if not settings.CSRF_USE_SESSIONS:
        cookies += f"; {settings.CSRF_COOKIE_NAME}={csrf_secret}"
    header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")
    return (("Cookie", cookies), (header, csrf_secret))


def login_session(
    username: str, *, expiry_s: int = DEFAULT_LOGIN_EXPIRY_S, csrf_secret: str | None = None
) -> tuple[str, str]:
    """(cookie name, session key) of a new session logged in as `username`, in the project's own store.
    With csrf_secret and CSRF_USE_SESSIONS, the session holds it, where Django looks for it then.

    It expires after expiry_s (the run's length plus LOGIN_MARGIN_S): if servebench is killed
    and cannot delete it, it stops being a valid login soon after, not in two weeks.
    """
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise LoginError(f"--login-as: no user {username!r} in the project's database") from None
    base: Any = import_module(settings.SESSION_ENGINE).SessionStore
    prefix = f"{LOGIN_KEY_PREFIX}{os.getpid()}z"

    class LoginSessionStore(base):  # type: ignore[misc, valid-type]
        def _get_new_session_key(self) -> str:
            while True:
                key = prefix + get_random_string(40 - len(prefix), _KEY_CHARS)
                if not self.exists(key):
                    return key

    # The data is signed with a salt made of the class's __qualname__: the project's own
    # SessionStore must be able to read this session, so the subclass keeps the name.
    LoginSessionStore.__qualname__ = base.__qualname__
    store = LoginSessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if csrf_secret is not None and settings.CSRF_USE_SESSIONS:
        from django.middleware.csrf import CSRF_SESSION_KEY

        store[CSRF_SESSION_KEY] = csrf_secret
    store.set_expiry(int(expiry_s))
    store.save()
    return settings.SESSION_COOKIE_NAME, store.session_key


def login_expiry_s(run_s: float) -> int:
    """The login session's lifetime for a run expected to last run_s seconds."""
    return int(run_s) + LOGIN_MARGIN_S


def delete_session(key: str) -> None:
    """Remove one session from the project's store."""
    import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).delete()


def delete_probe_sessions() -> int:
    """Delete the probe sessions in the database's session table; rows deleted (0 without the table)."""
    from django.contrib.sessions.models import Session

    alias = router.db_for_write(Session)
    try:
        if Session._meta.db_table not in connections[alias].introspection.table_names():
            return 0
        deleted, _ = Session.objects.using(alias).filter(session_key__startswith=PROBE_KEY_PREFIX).delete()
    except DatabaseError:
        return 0
    return deleted


def _login_key_orphaned(key: str) -> bool:
    """True when the servebench process that made this login session is gone."""
    digits = key[len(LOGIN_KEY_PREFIX) :].split("z", 1)[0]
    return not digits.isdigit() or not os.path.exists(f"/proc/{digits}")


def remove_stale_sessions() -> list[str]:
    """Delete what earlier, killed runs left in the database's session table; a message for each kind.

    Probe sessions (the probes' own) of any earlier run, and login sessions whose servebench
    process is gone. Sessions in a cache cannot be listed: they expire on their own.
    """
    from django.contrib.sessions.models import Session

    alias = router.db_for_write(Session)
    try:
        if Session._meta.db_table not in connections[alias].introspection.table_names():
            return []
        rows = Session.objects.using(alias)
        probes, _ = rows.filter(session_key__startswith=PROBE_KEY_PREFIX).delete()
        logins = [
            key
            for key in rows.filter(session_key__startswith=LOGIN_KEY_PREFIX).values_list("session_key", flat=True)
            if _login_key_orphaned(key)
        ]
        rows.filter(session_key__in=logins).delete()
    except DatabaseError:
        return []
    messages = []
    if probes:
        messages.append(f"removed {probes} probe session(s) an earlier run left in the {alias!r} database")
    if logins:
        messages.append(f"removed {len(logins)} --login-as session(s) an earlier, killed run left valid")
    return messages


def session_table_missing() -> str | None:
    """What to run when the session probes' table does not exist, else None."""
    from django.contrib.sessions.models import Session

    alias = router.db_for_write(Session)
    if Session._meta.db_table in connections[alias].introspection.table_names():
        return None
    return f"the session probes need the {Session._meta.db_table} table: run `python manage.py migrate sessions`"
