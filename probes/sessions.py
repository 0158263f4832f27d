"""Sessions servebench creates in the project's store: the probes' own (recognizable, removed
afterwards) and the one --login-as sends as a cookie."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import DatabaseError, connections, router
from django.utils.crypto import get_random_string

# Every probe session key starts with this: cleanup never touches the project's own sessions.
PROBE_KEY_PREFIX = "sbprobe"
# Probe sessions in a cache cannot be listed: they expire soon instead.
PROBE_SESSION_AGE_S = 300
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


class LoginError(ValueError):
    """--login-as names no user of the project's database."""


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


def login_session(username: str) -> tuple[str, str]:
    """(cookie name, session key) of a new session logged in as `username`, in the project's own store."""
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise LoginError(f"--login-as: no user {username!r} in the project's database") from None
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return settings.SESSION_COOKIE_NAME, store.session_key


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


def session_table_missing() -> str | None:
    """What to run when the session probes' table does not exist, else None."""
    from django.contrib.sessions.models import Session

    alias = router.db_for_write(Session)
    if Session._meta.db_table in connections[alias].introspection.table_names():
        return None
    return f"the session probes need the {Session._meta.db_table} table: run `python manage.py migrate sessions`"
