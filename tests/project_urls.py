"""URLs of the test project: one login-protected view of its own, and the probes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import include, path


@login_required
def private(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}\n", content_type="text/plain")


urlpatterns = [
    path("private/", private),
    path("probes/", include("probes.urls")),
]


# What ping/ received in this process, for the tests that call the project in-process or serve it from a thread.
RECEIVED: list[tuple[str, str, bytes]] = []


def ping(request: HttpRequest) -> HttpResponse:
    """A POST endpoint that records who sent what (CSRF-protected when CsrfViewMiddleware is on)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    RECEIVED.append((request.user.get_username(), request.content_type, request.body))
    return HttpResponse("pong\n", content_type="text/plain")


urlpatterns.append(path("ping/", ping))
