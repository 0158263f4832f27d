"""URLs of the demo site: the probes, and the debug toolbar when it is on."""

from __future__ import annotations

from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("probes/", include("probes.urls")),
]

if settings.DEBUG and "debug_toolbar" in settings.INSTALLED_APPS:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
