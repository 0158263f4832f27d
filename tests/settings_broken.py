"""The test settings with tests.broken_urls as the URLconf: what the servers of test_failures run."""

from __future__ import annotations

from settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.broken_urls"
