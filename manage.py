#!/usr/bin/env python
"""Django's command-line utility for the servebench demo site."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.bench")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    module = os.environ["DJANGO_SETTINGS_MODULE"]
    try:
        settings.INSTALLED_APPS  # noqa: B018  (loads the settings: a bad DATABASE_URL is one line, not a traceback)
    except ImproperlyConfigured as exc:
        sys.exit(f"{module}: {exc}")
    except Exception as exc:  # any error importing the settings module: one line, never a traceback
        lines = str(exc).strip().splitlines()
        sys.exit(f"{module}: the settings cannot be imported ({type(exc).__name__}: {lines[0] if lines else ''})")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
