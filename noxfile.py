"""The support matrix: Python 3.11 with Django 5.2; 3.12 and 3.13 with Django 5.2, 6.0, 6.1.

`make nox` runs it; `make test` runs the default interpreter only.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"

MATRIX = [
    ("3.11", "5.2"),
    ("3.12", "5.2"),
    ("3.12", "6.0"),
    ("3.12", "6.1"),
    ("3.13", "5.2"),
    ("3.13", "6.0"),
    ("3.13", "6.1"),
]


@nox.session
@nox.parametrize(("python", "django"), MATRIX)
def tests(session: nox.Session, django: str) -> None:
    session.install("-r", "requirements.txt", "-r", "requirements-test.txt")
    session.install(f"Django~={django}.0")
    session.run("python", "-m", "pytest", *session.posargs)
