"""servebench's settings: defaults here, the project's SERVEBENCH dict merged over them."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .bench.processes.files import private_dir

DEFAULTS: dict[str, Any] = {
    # Where results are saved; None: ./servebench-results under the working directory.
    "RESULTS_DIR": None,
    # True when servebench may migrate the default database and delete every
    # session in it (the demo site); a real project's database is never touched.
    "OWN_DATABASE": False,
    # A cache alias servebench may point at a memcached it starts itself.
    "MANAGED_MEMCACHED_ALIAS": None,
    # In-process view cost: at least this many calls and this much time per probe.
    "VIEW_COST_MIN_ITERATIONS": 30,
    "VIEW_COST_MIN_TIME_S": 0.5,
    "VIEW_COST_MAX_ITERATIONS": 20_000,
    "VIEW_COST_WARMUP": 5,
}


@functools.cache
def get_config() -> dict[str, Any]:
    """The defaults with the project's SERVEBENCH setting merged over them."""
    user = getattr(settings, "SERVEBENCH", {})
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown SERVEBENCH setting(s): {', '.join(sorted(unknown))}")
    return {**DEFAULTS, **user}


@receiver(setting_changed)
def _reset_config(*, setting: str, **kwargs: Any) -> None:
    if setting == "SERVEBENCH":
        get_config.cache_clear()


def results_dir() -> Path:
    """Where saved results go."""
    configured = get_config()["RESULTS_DIR"]
    return Path(configured) if configured else Path.cwd() / "servebench-results"


def lock_dir() -> Path:
    """The directory of the lock probe's lock file: the run directory under servebench."""
    run_dir = os.environ.get("SERVEBENCH_RUN_DIR")
    if run_dir:
        return Path(run_dir)
    # A predictable path in a shared directory: checked (ours, 0700, not a link) before it is used.
    return private_dir(Path(tempfile.gettempdir()) / f"servebench-lock-{os.getuid()}")
