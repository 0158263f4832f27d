"""Shared fixtures: real services started by servebench's own supervisor."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.memcached import Memcached, start_memcached

# A suite started in the background by a non-interactive shell (`make test &`) inherits SIGINT ignored, and
# so would every servebench it starts (Python keeps an ignored SIGINT): the Ctrl-C tests would test nothing.
# Their children get SIGINT's default back, as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def require_binary(name: str) -> str:
    """The binary's path; skip (fail under CI=true) when it is not installed."""
    path = shutil.which(name, path=SYSTEM_PATH)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install {name}; `make test` does it as root)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return path


OTHER_USER = "nobody"


def as_other_user(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run argv as another local user (runuser -u nobody); skip (fail under CI=true) when that is impossible."""
    runuser = require_binary("runuser")
    if os.geteuid() != 0:
        message = f"running as {OTHER_USER!r} needs root (runuser)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return subprocess.run(
        [runuser, "-u", OTHER_USER, "--", *argv], capture_output=True, text=True, timeout=30, check=check
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A world-writable sticky directory, like /tmp."""
    path = Path(tempfile.mkdtemp(prefix="servebench-shared-test-"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def run_dir() -> Iterator[Path]:
    with RunDir() as directory:
        yield directory.path


@pytest.fixture
def supervisor(run_dir: Path) -> Iterator[Supervisor]:
    with Supervisor(run_dir) as sup:
        yield sup
    assert sup.leftovers() == [], "processes left running after stop_all()"


@pytest.fixture(scope="session")
def memcached() -> Iterator[Memcached]:
    """A private memcached for the whole session, started and stopped by the engine."""
    require_binary("memcached")
    with RunDir() as directory, Supervisor(directory.path) as sup:
        # TCP: tests/unit/app/test_probes.py reads it with host and port (the default, a unix socket, is tested
        # in test_memcached.py).
        yield start_memcached(sup, transport="tcp")


@pytest.fixture
def memcached_sessions(memcached: Memcached, settings: object) -> Memcached:
    """The sessions cache alias pointed at the private memcached for one test."""
    from copy import deepcopy

    from django.conf import settings as django_settings

    caches = deepcopy(django_settings.CACHES)
    caches["sessions"]["LOCATION"] = memcached.address
    settings.CACHES = caches  # type: ignore[attr-defined]  # pytest-django restores it
    return memcached


@pytest.fixture
def private_caches(settings: object) -> None:
    """The command points the sessions cache at the memcached it starts: keep that change in one test."""
    from copy import deepcopy

    from django.conf import settings as django_settings

    settings.CACHES = deepcopy(django_settings.CACHES)  # type: ignore[attr-defined]
