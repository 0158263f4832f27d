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

from django.core.exceptions import ImproperlyConfigured

from probes.bench.processes.files import UnsafeTarget, create_private, read_private
from probes.job.dburl import database_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SERVEBENCH_VAR_DIR", BASE_DIR / "var"))


def _shared_secret_key(path: Path) -> str:
    """Read the key kept in `path`, creating it once, mode 0600 from the start; every worker must agree on it.

    A key file another user could have planted or read (not ours, a link, readable by others) is refused.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = read_private(path)
    if key is None:
        create_private(path, secrets.token_urlsafe(50))
        key = read_private(path)
    if not key or not key.strip():
        raise ImproperlyConfigured(f"{path} is empty: remove it and servebench writes a new key")
    return key.strip()


try:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _shared_secret_key(VAR_DIR / "secret_key")
except UnsafeTarget as exc:
    raise ImproperlyConfigured(f"secret key {exc.filename}: {exc.strerror}") from None

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
