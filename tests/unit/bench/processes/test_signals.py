"""A pid that is no longer ours is never signalled: after a reap the pid may name anyone (issue 21, item 1).

The reuse is planted as the tester did: an unrelated session leader takes the place of a
dead, reaped child (its pid put in the child's place, since waiting for the kernel to hand
the same pid out again would take minutes of forking).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from probes.bench.processes import signals
from probes.bench.processes.child import Child
from probes.bench.processes.procfs import _proc_info
from probes.bench.processes.supervisor import Supervisor

PY = sys.executable


@pytest.fixture
def strangers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Unrelated session leaders (not started by the supervisor), like another run's servers; killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for popen in started:
            popen.kill()
            popen.wait()


def _stranger(strangers: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    popen = subprocess.Popen(["sleep", "60"], start_new_session=True)
    strangers.append(popen)
    return popen


def _plant(child: Child, strangers: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """The child exits and is reaped; a stranger started later gets its pid."""
    before = _proc_info(child.pid)
    assert before is not None
    child.popen.wait(timeout=10)
    # A reused pid belongs to a process started after the reap: a later clock tick (10 ms
    # at 100 Hz), which is all the start time can tell apart.
    time.sleep(0.03)
    stranger = _stranger(strangers)
    info = _proc_info(stranger.pid)
    assert info is not None and info.start_ticks != before.start_ticks
    child.popen.pid = stranger.pid
    return stranger


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "start-time"])
def test_a_reaped_childs_reused_pid_is_never_signalled(
    supervisor: Supervisor, strangers: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch, pidfd: bool
) -> None:
    if not pidfd:
        monkeypatch.setattr(signals, "HAVE_PIDFD", False)
    elif not signals.HAVE_PIDFD:
        pytest.skip("no pidfd on this kernel or Python")
    child = supervisor.spawn("short", [PY, "-c", "pass"])
    stranger = _plant(child, strangers)
    child.stop(timeout_s=0.5)
    assert stranger.poll() is None, "the stranger that reused the pid was signalled"
    assert not child.signal(signal.SIGTERM)
    assert stranger.poll() is None


def test_a_member_of_the_strangers_session_is_not_taken_for_the_childs(
    supervisor: Supervisor, strangers: list[subprocess.Popen[bytes]]
) -> None:
    # The stranger's session id is the dead child's pid: its members are not ours either.
    child = supervisor.spawn("short", [PY, "-c", "pass"])
    stranger = _plant(child, strangers)
    info = _proc_info(stranger.pid)
    assert info is not None and info.sid == child.pid
    assert child.tree() == []


def test_signal_if_same_checks_the_start_time(strangers: list[subprocess.Popen[bytes]]) -> None:
    stranger = _stranger(strangers)
    info = _proc_info(stranger.pid)
    assert info is not None
    assert not signals.signal_if_same(stranger.pid, info.start_ticks + 1, signal.SIGTERM)
    assert stranger.poll() is None
    assert signals.signal_if_same(stranger.pid, info.start_ticks, signal.SIGTERM)
    assert stranger.wait(timeout=10) == -signal.SIGTERM


def test_a_live_child_is_still_stopped_with_its_session(supervisor: Supervisor) -> None:
    child = supervisor.spawn("sleeper", [PY, "-c", "import time; time.sleep(60)"])
    assert child.signal(0)
    child.stop(timeout_s=2)
    assert child.popen.returncode == -signal.SIGTERM
    assert not child.signal(signal.SIGTERM)
