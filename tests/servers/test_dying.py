"""A process that dies mid-measure is a failing configuration with its cause, never a traceback (issue 21, item 2).

The command runs in this process, so the processes it starts are our descendants: a thread
waits until the load generator runs (the window has begun), then kills one with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.bench.model.results import Suite
from probes.bench.processes.procfs import all_processes, descendants
from tests.conftest import require_binary

pytestmark = pytest.mark.servers
LOADGEN = f"{sys.executable} -m probes.bench.loadgen"
SHORT = ["--server", "gunicorn", "--workers", "1", "--loadgen", "builtin"]
SHORT += ["--duration", "1.5", "--warmup", "0", "--repeat", "1"]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture
def kill_mid_window() -> Iterator[Callable[[str], list[str]]]:
    """kill(prefix): SIGKILL, once, our first descendant whose command line starts with prefix while a load runs."""
    done = threading.Event()
    threads: list[threading.Thread] = []

    def start(prefix: str) -> list[str]:
        killed: list[str] = []

        def watch() -> None:
            deadline = time.monotonic() + 120
            while not done.is_set() and time.monotonic() < deadline:
                lines = {info.pid: _cmdline(info.pid) for info in descendants(all_processes(), [os.getpid()])}
                target = next((pid for pid, line in lines.items() if line.startswith(prefix)), None)
                if target is not None and any(line.startswith(LOADGEN) for line in lines.values()):
                    os.kill(target, signal.SIGKILL)
                    killed.append(lines[target])
                    return
                time.sleep(0.02)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        threads.append(thread)
        return killed

    yield start
    done.set()
    for thread in threads:
        thread.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_nginx_killed_mid_window_fails_its_configuration_and_the_sweep_goes_on(
    tmp_path: Path, kill_mid_window: Callable[[str], list[str]]
) -> None:
    require_binary("nginx")
    path = tmp_path / "nginx-dies.json"
    killed = kill_mid_window("nginx: master")
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "servebench",
            *("--probe", "trivial", *SHORT, "--front", "nginx", "--front", "direct", "--json", str(path)),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert killed, "nginx's master was never seen under load"
    assert str(excinfo.value) == (
        "1 of 2 configurations could not be measured;"
        " gunicorn w1 nginx/tcp: nginx exited (signal 9, SIGKILL) during the window"
    )
    first, second = Suite.load(path).runs
    assert first.label == "gunicorn w1 nginx/tcp" and first.quality == "failing"
    assert first.quality_reasons[0].startswith("nginx exited (signal 9, SIGKILL) during the window"), first
    assert first.error.startswith("nginx exited (signal 9, SIGKILL) during the window")
    assert second.label == "gunicorn w1 direct" and second.error == "" and second.quality != "failing"
    assert second.samples[0].ok > 0


@pytest.mark.django_db(transaction=True)
def test_servebenchs_memcached_killed_mid_run_is_named_and_every_run_is_saved(
    private_caches: None, tmp_path: Path, kill_mid_window: Callable[[str], list[str]]
) -> None:
    require_binary("memcached")
    path = tmp_path / "memcached-dies.json"
    killed = kill_mid_window(f"{require_binary('memcached')} -s ")
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "servebench",
            *("--probe", "session-cache", *SHORT, "--workers", "1,2", "--front", "direct", "--json", str(path)),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert killed, "servebench's memcached was never seen under load"
    first, second = Suite.load(path).runs
    assert first.error.startswith("servebench's memcached died (signal 9, SIGKILL) during the window"), first
    assert second.error.startswith("servebench's memcached died (signal 9, SIGKILL) before this configuration")
    assert second.samples == ()
    assert str(excinfo.value).startswith(
        "no valid result: every run failed; gunicorn w1 direct: servebench's memcached died (signal 9, SIGKILL)"
    )
