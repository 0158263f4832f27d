"""The application a server process serves instead of the project's, when servebench names one."""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

from ..bench.contract import TARGET_APP_ENV


def named_application() -> Any | None:
    """The "module:callable" of TARGET_APP_ENV (the null app, a test's broken app), or None: the project's."""
    target = os.environ.get(TARGET_APP_ENV)
    if not target:
        return None
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr or "application")
