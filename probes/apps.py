from __future__ import annotations

from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    verbose_name = "servebench probes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register servebench's preflight checks."""
        from . import checks

        checks.register()
