"""URLs of the test project: a login-protected view of its own, a view that writes, and the probes."""

from __future__ import annotations

import os
import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import include, path


@login_required
def private(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}\n", content_type="text/plain")


def grow(request: HttpRequest) -> HttpResponse:
    """A URL that writes (GET or POST), as the issue's ping endpoint did: one new row per request (auth_group)."""
    from django.contrib.auth.models import Group

    Group.objects.create(name=f"ping-{uuid.uuid4().hex}")
    return HttpResponse("pong\n", content_type="text/plain")


urlpatterns = [
    path("private/", private),
    path("grow/", grow),
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


def counted(request: HttpRequest, name: str) -> HttpResponse:
    """Any method: appends 'METHOD name user pid body' to $SERVEBENCH_TEST_COUNTS (every server process and
    servebench's own append to one file), so a test counts on the server's side what each request delivered."""
    if log := os.environ.get("SERVEBENCH_TEST_COUNTS"):
        user = request.user.get_username() or "-"
        line = f"{request.method} {name} {user} {os.getpid()} {request.body.decode()}\n"
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())  # one write of a short line: whole under O_APPEND
        finally:
            os.close(fd)
    return HttpResponse("counted\n", content_type="text/plain")


urlpatterns += [path("ping/", ping), path("count/<slug:name>/", counted)]
