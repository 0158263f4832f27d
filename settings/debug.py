"""For looking at the probes by hand: DEBUG and django-debug-toolbar on.

Never benchmark with these: DEBUG and the toolbar distort every figure.
"""

from __future__ import annotations

from debug_toolbar.settings import PANELS_DEFAULTS

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE

DEBUG = True
INTERNAL_IPS = ["127.0.0.1", "::1"]
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.staticfiles", "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
STATIC_URL = "static/"
# The toolbar's own panels, and servebench's: this request's cost, its ceiling, the measured r/s.
DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, "probes.panels.ServeBenchPanel"]
