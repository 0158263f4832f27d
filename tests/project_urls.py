"""URLs of the test project: one login-protected view of its own, and the probes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_required
def private(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}\n", content_type="text/plain")


urlpatterns = [
    path("private/", private),
    path("probes/", include("probes.urls")),
]
