"""Settings shared by every servebench demo configuration.

Everything a benchmark run varies comes from the environment, so that the
server processes servebench starts see the same configuration as servebench:
SERVEBENCH_DB (SQLite file), DATABASE_URL (postgres://user:pass@host:port/name,
instead of SQLite), SERVEBENCH_MEMCACHED (host:port), DJANGO_SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from probes.dburl import database_from_url

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


DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
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
