"""kill -9 of a real `manage.py servebench` sweep mid-window: nothing it started keeps running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from probes.bench.processes.orphans import reclaim_orphans
from probes.bench.processes.procfs import ProcInfo, _proc_info, all_processes, descendants
from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[2]


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if b"=" in item)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(info: ProcInfo) -> bool:
    now = _proc_info(info.pid)
    return now is not None and now.start_ticks == info.start_ticks and now.state != "Z"


@pytest.mark.servers
@pytest.mark.parametrize("generator", ["builtin", "wrk"])
def test_sigkill_mid_window_leaves_no_process(tmp_path: Path, generator: str) -> None:
    require_binary("memcached")
    if generator != "builtin":
        require_binary(generator)
    env = {**os.environ, "TMPDIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "settings.test"}
    argv = [sys.executable, "manage.py", "servebench", "--server", "gunicorn", "--workers", "1", "--front", "direct"]
    argv += ["--probe", "session-cache", "--duration", "5", "--warmup", "0", "--repeat", "1", "--loadgen", generator]
    bench = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Ready when the measured window runs: the load generator is among its descendants.
        marks = {"builtin": f"{sys.executable} -m probes.bench.loadgen", "wrk": "wrk "}
        deadline = time.monotonic() + 120
        tree: list[ProcInfo] = []
        while time.monotonic() < deadline and bench.poll() is None:
            tree = [info for info in descendants(all_processes(), [bench.pid]) if info.pid != bench.pid]
            if any(_cmdline(info.pid).startswith(marks[generator]) for info in tree):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"servebench never started its load generator (exit status {bench.poll()})")
        names = {info.pid: _cmdline(info.pid) for info in tree}
        assert any("gunicorn" in line for line in names.values()) and any(
            "memcached" in line for line in names.values()
        )
        run_dirs = {_environ(info.pid).get("SERVEBENCH_RUN_DIR") for info in tree} - {None}
        bench.send_signal(signal.SIGKILL)
        bench.wait(timeout=10)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()

    deadline = time.monotonic() + 5
    while [info for info in tree if _alive(info)] and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [f"{info.pid} {names[info.pid]}" for info in tree if _alive(info)]
    assert left == [], f"still running 5 s after kill -9: {left}"
    assert list(tmp_path.glob("servebench-wrk-*")) == []  # the generator cleaned up on its TERM

    # No cleanup code ran: the run directory is still there, and the next run removes it and says so.
    (run_dir,) = run_dirs
    assert Path(run_dir).is_dir()
    messages = reclaim_orphans(tmp_path)
    assert messages == [
        f"removed the run directory {run_dir} an earlier servebench run (pid {bench.pid}, killed) left behind"
    ]
    assert not Path(run_dir).exists()
