"""The HTML report's Jinja2 template is out of reach of Django's template loaders (django-compressor's too)."""

from __future__ import annotations

import pytest
from django.template import TemplateDoesNotExist, engines
from django.template.loader import get_template

from probes.bench.model.results import Suite
from probes.report.html import html_report
from probes.views import template_engines
from tests.factories import METADATA, gunicorn_run, sample


@pytest.mark.parametrize("name", ["probes/report.html", "report.html", "probes/report/report.html"])
def test_no_django_template_engine_finds_the_report_template(name: str) -> None:
    # django-compressor's `compress` walks every engine's loaders and parses what it finds as a Django
    # template: the report's Jinja2 syntax ({%- ... -%}) is an invalid block tag there.
    with pytest.raises(TemplateDoesNotExist):
        get_template(name)
    for engine in [*engines.all(), *template_engines().values()]:
        with pytest.raises(TemplateDoesNotExist):
            engine.get_template(name)


def test_the_report_still_renders_from_the_package() -> None:
    page = html_report(Suite(metadata=METADATA, runs=(gunicorn_run(1, path="/x", samples=(sample(100.0),)),)))
    assert page.startswith("<!DOCTYPE html>") and "servebench report" in page


def test_the_probes_own_templates_stay_where_django_finds_them() -> None:
    # list.html is the template-django probe's, panel.html the toolbar panel's: Django templates.
    assert get_template("probes/panel.html") is not None
    assert template_engines()["django"].get_template("probes/list.html") is not None
