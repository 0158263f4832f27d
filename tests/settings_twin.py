"""The test settings under another name: the A of an A/A (--against-settings) against settings.test."""

from __future__ import annotations

from settings.test import *  # noqa: F403
