"""A project that never heard of servebench: its own middleware, sessions and a login-protected
view; servebench owns nothing here (no migrations, no managed memcached)."""

from __future__ import annotations

from settings.base import *  # noqa: F403

SERVEBENCH: dict[str, object] = {}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.project_urls"
