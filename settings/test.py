"""Settings for pytest: the bench settings, with files kept out of the checkout."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from probes.bench.processes.files import private_dir

from .base import *  # noqa: F403

# The engine's JSON results from tests go to a throwaway directory.
SERVEBENCH = {
    "OWN_DATABASE": True,
    "MANAGED_MEMCACHED_ALIAS": "sessions",
    # A predictable path in /tmp: checked (ours, 0700, not a link) before results go there.
    "RESULTS_DIR": str(private_dir(Path(tempfile.gettempdir()) / f"servebench-test-results-{os.getuid()}")),
}
