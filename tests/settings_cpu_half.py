"""The test settings with the cpu probe spinning half its ms: an A twice as fast as settings.test's B."""

from __future__ import annotations

from settings.test import *  # noqa: F403

PROBES_CPU_SCALE = 0.5
