"""For looking at the probes by hand: DEBUG and django-debug-toolbar on.

Never benchmark with these: DEBUG and the toolbar distort every figure.
"""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE

DEBUG = True
INTERNAL_IPS = ["127.0.0.1", "::1"]
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.staticfiles", "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
STATIC_URL = "static/"
