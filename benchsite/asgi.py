"""ASGI application of the demo site (what uvicorn and granian-asgi run, through probes.worker.asgi)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.bench")

application = get_asgi_application()
