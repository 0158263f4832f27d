"""The test settings with DEBUG on (no toolbar): one side of a --compare whose settings differ."""

from __future__ import annotations

from settings.test import *  # noqa: F403

DEBUG = True
