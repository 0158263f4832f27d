"""`manage.py servebench` run as a user runs it, in a process of its own, on the test settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def servebench(tmp_path: Path, *argv: str | Path, settings: str = "settings.test") -> subprocess.CompletedProcess[str]:
    """The command's exit, stdout and stderr; its private files under tmp_path (TMPDIR), at most 240 s."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": settings}
    return subprocess.run(
        [sys.executable, "manage.py", "servebench", *map(str, argv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
