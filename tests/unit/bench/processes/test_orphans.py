"""kill -9 of servebench: its children die with it, and the next run stops whatever survived."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.bench.processes.orphans import read_record, reclaim_orphans
from probes.bench.processes.procfs import _proc_info
from probes.bench.processes.supervisor import RECORD_NAME
from tests.conftest import as_other_user

PY = sys.executable
ROOT = Path(__file__).resolve().parents[4]

STUBBORN = """
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("grandchild", os.getpid(), flush=True)
    time.sleep(120)
    os._exit(0)
time.sleep(120)
"""

# A stand-in for servebench: a supervisor in a run directory, two children, then it waits to be killed.
FAKE_SERVEBENCH = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from probes.bench.processes.supervisor import Supervisor
sup = Supervisor(Path(sys.argv[1]))
polite = sup.spawn("polite", [sys.executable, "-c", "import time; time.sleep(120)"])
stubborn = sup.spawn("stubborn", [sys.executable, "-c", {STUBBORN!r}])
deadline = time.monotonic() + 20
while "grandchild" not in stubborn.log_tail() and time.monotonic() < deadline:
    time.sleep(0.02)
print(polite.pid, stubborn.pid, stubborn.log_tail().split()[1], flush=True)
time.sleep(120)
"""


@pytest.fixture
def parent() -> Iterator[Path]:
    """Where run directories are made (a private one here, not the shared /tmp)."""
    with tempfile.TemporaryDirectory(prefix="servebench-orphans-test-") as path:
        yield Path(path)


def _alive(pid: int) -> bool:
    info = _proc_info(pid)
    return info is not None and info.state != "Z"


def _reap(pids: list[int]) -> None:
    # The test process is a subreaper (earlier Supervisors): orphans may end up as its zombies.
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _wait_until(predicate: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(predicate())  # type: ignore[operator]


def test_killed_supervisor_children_die_and_the_next_run_stops_the_rest(parent: Path) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="servebench-", dir=parent))
    fake = subprocess.Popen([PY, "-c", FAKE_SERVEBENCH, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    polite, stubborn, grandchild = (int(x) for x in fake.stdout.readline().split())
    assert all(_alive(pid) for pid in (polite, stubborn, grandchild))
    fake.send_signal(signal.SIGKILL)
    fake.wait(timeout=10)
    fake.stdout.close()
    # PR_SET_PDEATHSIG: the kernel sent TERM to each direct child; the polite one is gone.
    assert _wait_until(lambda: not _alive(polite), 5), "a child outlived its killed supervisor"
    assert _alive(stubborn) and _alive(grandchild)  # they ignore TERM: only a next run can stop them

    messages = reclaim_orphans(parent, timeout_s=1.0)
    _reap([polite, stubborn, grandchild])
    assert not _alive(stubborn) and not _alive(grandchild)
    assert not run_dir.exists()
    assert len(messages) == 2, messages
    assert messages[0].startswith(f"stopped 2 process(es) an earlier servebench run (pid {fake.pid}, killed)")
    assert f"stubborn (pid {stubborn})" in messages[0] and f"pid {grandchild}" in messages[0]
    assert (
        messages[1]
        == f"removed the run directory {run_dir} an earlier servebench run (pid {fake.pid}, killed) left behind"
    )
    assert reclaim_orphans(parent) == []


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])


def _plant_record(run_dir: Path, pid: int, start: int) -> None:
    (run_dir / RECORD_NAME).write_text(f"supervisor 999999999 1 deadbeef\nchild {pid} {start} gunicorn-1\n")


def test_a_reused_pid_is_not_signalled(parent: Path) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="servebench-", dir=parent))
    innocent = _sleeper()
    try:
        info = _proc_info(innocent.pid)
        assert info is not None
        _plant_record(run_dir, innocent.pid, info.start_ticks + 1)  # same pid, another process
        assert reclaim_orphans(parent) == [
            f"removed the run directory {run_dir} an earlier servebench run (pid 999999999, killed) left behind"
        ]
        assert innocent.poll() is None
    finally:
        innocent.kill()
        innocent.wait()


def test_a_live_run_is_left_alone(parent: Path) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="servebench-", dir=parent))
    me = _proc_info(os.getpid())
    assert me is not None
    (run_dir / RECORD_NAME).write_text(f"supervisor {os.getpid()} {me.start_ticks} cafe\n")
    assert read_record(run_dir) is not None
    assert reclaim_orphans(parent) == []
    assert run_dir.exists()


def test_a_record_planted_by_another_user_is_ignored() -> None:
    shared = Path(tempfile.mkdtemp(prefix="servebench-shared-test-"))
    shared.chmod(0o1777)
    innocent = _sleeper()
    try:
        info = _proc_info(innocent.pid)
        assert info is not None
        planted = shared / "servebench-planted"
        record = f"supervisor 999999999 1 deadbeef\\nchild {innocent.pid} {info.start_ticks} x\\n"
        as_other_user(["sh", "-c", f"mkdir -m 700 {planted} && printf '{record}' > {planted}/{RECORD_NAME}"])
        assert read_record(planted) is None
        assert reclaim_orphans(shared) == []
        assert innocent.poll() is None
    finally:
        innocent.kill()
        innocent.wait()
        as_other_user(["rm", "-rf", str(shared / "servebench-planted")], check=False)
        os.rmdir(shared)


def test_a_run_directory_kept_after_a_clean_stop_is_left_alone(parent: Path) -> None:
    from probes.bench.processes.supervisor import Supervisor

    run_dir = Path(tempfile.mkdtemp(prefix="servebench-", dir=parent))
    with Supervisor(run_dir) as sup:
        sup.spawn("quick", [PY, "-c", "pass"]).popen.wait(timeout=10)
    record = read_record(run_dir)
    assert record is not None and record.stopped
    assert reclaim_orphans(parent) == []  # its logs were kept on purpose (--keep-run-dir, failing runs)
    assert run_dir.exists()
