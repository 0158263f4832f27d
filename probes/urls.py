"""The probe views; include with path("probes/", include("probes.urls"))."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "probes"

urlpatterns = [
    path("trivial/", views.trivial, name="trivial"),
    path("trivial-async/", views.trivial_async, name="trivial-async"),
    path("session-db/", views.session_db, name="session-db"),
    path("session-cache/", views.session_cache, name="session-cache"),
    path("session-cached-db/", views.session_cached_db, name="session-cached-db"),
    path("session-signed-cookies/", views.session_signed_cookies, name="session-signed-cookies"),
    path("template-django/", views.template_django, name="template-django"),
    path("template-jinja2/", views.template_jinja2, name="template-jinja2"),
    path("sleep/", views.sleep, name="sleep"),
    path("sleep-async/", views.sleep_async, name="sleep-async"),
    path("cpu/", views.cpu, name="cpu"),
    path("lock/", views.lock, name="lock"),
    path("status/", views.status, name="status"),
]
