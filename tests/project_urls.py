"""URLs of the test project: a login-protected view of its own, a view that writes, and the probes."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_required
def private(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}\n", content_type="text/plain")


def ping(request: HttpRequest) -> HttpResponse:
    """A GET that writes, as the issue's ping endpoint did: one new row per request (here in auth_group)."""
    from django.contrib.auth.models import Group

    Group.objects.create(name=f"ping-{uuid.uuid4().hex}")
    return HttpResponse("pong\n", content_type="text/plain")


urlpatterns = [
    path("private/", private),
    path("ping/", ping),
    path("probes/", include("probes.urls")),
]
