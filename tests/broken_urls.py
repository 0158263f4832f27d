"""URLs whose answers are known: a view that raises, one that says where the server runs, a redirect."""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path


def raises(request: HttpRequest) -> HttpResponse:
    raise LookupError(f"no shelf for {request.path}")


def where(request: HttpRequest) -> HttpResponse:
    return HttpResponse(os.getcwd(), content_type="text/plain")


def moved(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("https://127.0.0.1/moved/")


urlpatterns = [
    path("raises/", raises),
    path("where/", where),
    path("moved/", moved),
]
