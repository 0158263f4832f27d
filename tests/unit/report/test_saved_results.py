"""Results saved by an earlier servebench render byte for byte as they did then (`--from`)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

SAVED = Path(__file__).resolve().parents[2] / "fixtures" / "saved"


@pytest.mark.parametrize("name", ["sweep", "explain"])
def test_saved_results_render_the_same_text(name: str) -> None:
    out = StringIO()
    call_command("servebench", "--from", str(SAVED / f"{name}.json"), stdout=out)
    assert out.getvalue() == (SAVED / f"{name}.txt").read_text()


@pytest.mark.parametrize("name", ["sweep", "explain"])
def test_saved_results_render_the_same_markdown(name: str) -> None:
    out = StringIO()
    call_command("servebench", "--from", str(SAVED / f"{name}.json"), "--report", "-", stdout=out)
    assert out.getvalue() == (SAVED / f"{name}.md").read_text()
