"""WSGI application of the demo site (what every server runs)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.bench")

application = get_wsgi_application()
