"""The test project as most projects are: with Django's CSRF protection (a POST needs a token)."""

from __future__ import annotations

from tests.settings_project import *  # noqa: F403
from tests.settings_project import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]
