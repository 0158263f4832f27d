"""The locust master and workers servebench starts end with it: at its end (the master quits when the control
pipe closes), and also when it is killed with SIGKILL (each has PR_SET_PDEATHSIG: the kernel TERMs them when
servebench's process dies)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from probes.bench.loadgen.locust import driver
from probes.bench.loadgen.locust.setup import LocustSetup
from probes.bench.loadgen.model import LoadSpec
from probes.bench.measure.window import drive
from probes.bench.processes.ports import free_port
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.job.launcher import Launcher

pytestmark = pytest.mark.servers
ROOT = Path(__file__).resolve().parents[2]
DRIVER = """
import sys
from probes.bench.loadgen.locust.driver import drive_locust
from probes.bench.loadgen.locust.setup import LocustSetup
from probes.bench.loadgen.model import LoadSpec
drive_locust(LoadSpec(path="/", port=int(sys.argv[1]), duration_s=60.0), LocustSetup(workers=2), None)
"""


def _locusts(root: psutil.Process) -> list[psutil.Process]:
    return [p for p in root.children(recursive=True) if "locust" in " ".join(p.cmdline())]


def test_a_killed_servebench_leaves_no_locust_behind(tmp_path: Path) -> None:
    # Its files in tmp_path: a driver killed before the spawn cannot remove them (after it, they are gone).
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    argv = [sys.executable, "-c", DRIVER, str(free_port())]
    driver = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 60
        started: list[psutil.Process] = []
        while len(started) < 3 and time.monotonic() < deadline:  # the master and two workers
            started = _locusts(psutil.Process(driver.pid))
            time.sleep(0.1)
        assert len(started) == 3, [p.cmdline() for p in started]
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    gone, alive = psutil.wait_procs(started, timeout=15)
    assert not alive, [p.cmdline() for p in alive]
    assert len(gone) == 3


def test_the_master_quits_at_the_pipes_end_after_windows_ran() -> None:
    """Windows started and stopped through the pipe, then the pipe closed: the master quits by itself (within
    STOP_S), not TERMed at the deadline. locust's headless master used to poll for *ready* workers in its
    main greenlet; a worker running a window is not ready, so the poll outlived the run: 10 s at every end."""
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        launcher = Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=None)
        stack = launcher.start(ServerConfig("gunicorn", 1, front="direct"))
        try:
            spec = LoadSpec(path="/probes/trivial/", port=stack.port, host_header=launcher.host_header)
            spec = replace(spec, concurrency=4, duration_s=1.0)
            results = [drive(spec, "locust", None, locust=LocustSetup(workers=1)) for _ in range(2)]
            fleets = driver.open_fleets()
            driver.close_fleets()
        finally:
            stack.stop()
    assert all(result.ok > 0 and result.errors == {} for result in results), results
    assert len(fleets) == 1 and fleets[0].quit_itself is True
