"""DATABASE_URL (postgres:// or postgresql://) as a Django DATABASES entry, for the demo site and
for the throwaway PostgreSQL servebench starts (--database postgres)."""

from __future__ import annotations

import urllib.parse

from django.core.exceptions import ImproperlyConfigured


def database_from_url(url: str) -> dict[str, object]:
    """postgres://USER:PASSWORD@HOST:PORT/NAME?conn_max_age=60&sslmode=... as a DATABASES entry.

    ImproperlyConfigured, one line, for anything that cannot be parsed; the URL itself is never
    in the message (it holds the password).
    """
    try:
        return _database(urllib.parse.urlsplit(url))
    except (ValueError, OverflowError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {str(exc).splitlines()[0]}") from None


def _database(parts: urllib.parse.SplitResult) -> dict[str, object]:
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL: only postgres:// and postgresql:// are supported, not {parts.scheme!r}"
        )
    host_port = parts.netloc.rpartition("@")[2]
    if host_port.lower().startswith("%2f"):
        # A percent-encoded socket directory (postgres://user@%2Frun%2Fpostgresql/name): keep its case.
        host, port = urllib.parse.unquote(host_port), ""
    else:
        host, port = parts.hostname or "", str(parts.port or "")  # .port: ValueError when not 0-65535
    options = dict(urllib.parse.parse_qsl(parts.query))
    conn_max_age = options.pop("conn_max_age", "60")
    if conn_max_age != "none" and not conn_max_age.isdigit():
        raise ValueError(f"conn_max_age takes whole seconds or none, not {conn_max_age!r}")
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
