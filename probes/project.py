"""The Django project under test, seen from servebench: its WSGI app, database, caches, hosts."""

from __future__ import annotations

from typing import Any

from asgiref.local import Local
from django.conf import settings
from django.core.cache import caches, close_caches
from django.core.management import call_command
from django.core.servers.basehttp import get_internal_wsgi_application

from .conf import get_config

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def wsgi_application() -> Any:
    """The project's own WSGI_APPLICATION, as runserver loads it."""
    return get_internal_wsgi_application()


def host_header() -> str:
    """A Host the project accepts that names this machine (ALLOWED_HOSTS decides)."""
    allowed = list(settings.ALLOWED_HOSTS) or (list(LOOPBACK_NAMES) if settings.DEBUG else [])
    for name in LOOPBACK_NAMES:
        if name in allowed or "*" in allowed:
            return name
    for name in allowed:
        if name.startswith(".") and "localhost".endswith(name.lstrip(".")):
            return "localhost"
    # Nothing loopback-like is allowed: send the first name; Django will say 400 if not.
    return allowed[0].lstrip(".") if allowed else "127.0.0.1"


def managed_memcached_alias() -> str | None:
    """The cache alias servebench may point at its own memcached, if the project allows."""
    alias = get_config()["MANAGED_MEMCACHED_ALIAS"]
    return alias if alias in settings.CACHES else None


def use_memcached(alias: str, address: str) -> None:
    """Point cache `alias` of this process at `address` (the servers get it via SERVEBENCH_MEMCACHED)."""
    settings.CACHES[alias]["LOCATION"] = address
    close_caches()
    # Rebuild the handler's view of the settings, as Django's own
    # setting_changed receiver does for CACHES.
    caches._settings = caches.settings = caches.configure_settings(None)  # type: ignore[attr-defined]
    caches._connections = Local()  # type: ignore[attr-defined]


def prepare_owned_database() -> bool:
    """Migrate the database when the project lets servebench own it; False when it does not."""
    if not get_config()["OWN_DATABASE"]:
        return False
    call_command("migrate", verbosity=0, interactive=False)
    return True


def delete_owned_sessions() -> int:
    """Empty the session table of a database servebench owns; rows deleted."""
    if not get_config()["OWN_DATABASE"]:
        return 0
    from django.contrib.sessions.models import Session

    deleted, _ = Session.objects.all().delete()
    return deleted
