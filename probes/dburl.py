"""DATABASE_URL (postgres:// or postgresql://) as a Django DATABASES entry, for the demo site and
for the throwaway PostgreSQL servebench starts (--database postgres)."""

from __future__ import annotations

import urllib.parse

from django.core.exceptions import ImproperlyConfigured


def database_from_url(url: str) -> dict[str, object]:
    """postgres://USER:PASSWORD@HOST:PORT/NAME?conn_max_age=60&sslmode=... as a DATABASES entry."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL: only postgres:// and postgresql:// are supported, not {parts.scheme!r}"
        )
    host_port = parts.netloc.rpartition("@")[2]
    if host_port.lower().startswith("%2f"):
        # A percent-encoded socket directory (postgres://user@%2Frun%2Fpostgresql/name): keep its case.
        host, port = urllib.parse.unquote(host_port), ""
    else:
        host, port = parts.hostname or "", str(parts.port or "")
    options = dict(urllib.parse.parse_qsl(parts.query))
    conn_max_age = options.pop("conn_max_age", "60")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": urllib.parse.unquote(parts.path.lstrip("/")),
        "USER": urllib.parse.unquote(parts.username or ""),
        "PASSWORD": urllib.parse.unquote(parts.password or ""),
        "HOST": host,
        "PORT": port,
        # Persistent connections by default: servebench measures the session write,
        # not a new PostgreSQL backend per request (?conn_max_age=0 to measure that).
        "CONN_MAX_AGE": None if conn_max_age == "none" else int(conn_max_age),
        "CONN_HEALTH_CHECKS": True,
        # The rest (sslmode, connect_timeout...) goes to libpq as it is.
        "OPTIONS": options,
    }
