"""The default settings: what servebench measures (DEBUG off, no toolbar)."""

from __future__ import annotations

from .base import *  # noqa: F403
