"""The project's settings that change every figure, read where Django is loaded and recorded in the metadata."""

from __future__ import annotations

from django.conf import settings

from ..bench.model.metadata import ProjectSettings


def project_settings() -> ProjectSettings:
    """DEBUG, CONN_MAX_AGE per database, the session engine and the default cache, as the servers run them."""
    caches = getattr(settings, "CACHES", {}) or {}
    return ProjectSettings(
        debug=bool(settings.DEBUG),
        # Django's default is 0 (a connection per request); None keeps it for good.
        conn_max_age={alias: database.get("CONN_MAX_AGE", 0) for alias, database in settings.DATABASES.items()},
        session_engine=str(settings.SESSION_ENGINE),
        cache_backend=str(caches.get("default", {}).get("BACKEND", "")),
    )
