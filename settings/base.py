"""Settings shared by every servebench demo configuration.

Everything a benchmark run varies comes from the environment, so that the
server processes servebench starts see the same configuration as servebench:
SERVEBENCH_DB (SQLite file), DATABASE_URL (postgres://user:pass@host:port/name,
instead of SQLite), SERVEBENCH_MEMCACHED (host:port), DJANGO_SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SERVEBENCH_VAR_DIR", BASE_DIR / "var"))


def _shared_secret_key(path: Path) -> str:
    """Read the key kept in `path`, creating it once; every worker must agree on it."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(secrets.token_urlsafe(50))
    tmp.chmod(0o600)
    try:
        # link() fails if another process won the race: then theirs is the key.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _shared_secret_key(VAR_DIR / "secret_key")

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "probes",
]

# No session middleware: the "really dumb view" of the classic benchmark ran
# without it. The session probes create their sessions themselves.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"


def _database_from_url(url: str) -> dict[str, object]:
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


DATABASES = {
    "default": _database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SERVEBENCH_DB", str(VAR_DIR / "db.sqlite3")),
        # Concurrent writers wait for SQLite's single write lock instead of
        # failing after the default 5 s: servebench measures the wait.
        "OPTIONS": {"timeout": 20},
    }
}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": os.environ.get("SERVEBENCH_MEMCACHED", "127.0.0.1:11211"),
        "OPTIONS": {"no_delay": True},
    },
}
SESSION_CACHE_ALIAS = "sessions"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SERVEBENCH = {
    # The demo site owns its database and its session memcached: servebench
    # may migrate the one and point the other at a memcached it starts.
    "OWN_DATABASE": True,
    "MANAGED_MEMCACHED_ALIAS": "sessions",
}
