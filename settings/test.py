"""Settings for pytest: the bench settings, with files kept out of the checkout."""

from __future__ import annotations

import os
import tempfile

from .base import *  # noqa: F403

# The engine's JSON results from tests go to a throwaway directory.
SERVEBENCH = {
    "OWN_DATABASE": True,
    "MANAGED_MEMCACHED_ALIAS": "sessions",
    "RESULTS_DIR": os.path.join(tempfile.gettempdir(), f"servebench-test-results-{os.getuid()}"),
}
