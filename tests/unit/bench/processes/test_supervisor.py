"""The supervisor starts, checks and stops real processes, leaving nothing behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from probes.bench.processes.child import StartFailed
from probes.bench.processes.ports import PortTaken, ensure_free, free_port
from probes.bench.processes.procfs import session_members
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor

PY = sys.executable

FORKS_AND_IGNORES_TERM = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)
    os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


def test_run_dir_is_private_and_removed() -> None:
    with RunDir() as run_dir:
        assert run_dir.path.stat().st_mode & 0o777 == 0o700
    assert not run_dir.path.exists()


def test_free_port_is_free_and_a_taken_one_is_refused() -> None:
    import socket

    port = free_port()
    ensure_free(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with pytest.raises(PortTaken, match=f"port {port}"):
            ensure_free(port)


def test_stop_kills_a_term_ignoring_tree(supervisor: Supervisor) -> None:
    child = supervisor.spawn("stubborn", [PY, "-c", FORKS_AND_IGNORES_TERM])
    child.wait_ready(lambda: "ready" in child.log_tail(), timeout_s=10)
    assert len(session_members(child.pid)) == 2
    started = time.monotonic()
    child.stop(timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert session_members(child.pid) == []
    child.stop()  # idempotent


def test_a_child_that_dies_during_start_up_is_reported_with_its_log(supervisor: Supervisor) -> None:
    child = supervisor.spawn("broken", [PY, "-c", "import sys; print('no such module: myapp'); sys.exit(3)"])
    with pytest.raises(StartFailed, match=r"broken: exited with status 3.*\n.*no such module: myapp"):
        child.wait_ready(lambda: False, timeout_s=10)


def test_readiness_has_a_deadline(supervisor: Supervisor) -> None:
    child = supervisor.spawn("slow", [PY, "-c", "import time; time.sleep(30)"])
    started = time.monotonic()
    with pytest.raises(StartFailed, match="not ready after 0.3 s"):
        child.wait_ready(lambda: False, timeout_s=0.3)
    assert time.monotonic() - started < 3


def test_orphans_of_a_session_are_stopped_too(run_dir: Path) -> None:
    # The leader exits at once; its child lives on in the same session.
    script = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\n"
    with Supervisor(run_dir) as sup:
        child = sup.spawn("orphaning", [PY, "-c", script])
        child.popen.wait(timeout=10)
        assert [p for p in session_members(child.pid) if p.state != "Z"]
    assert session_members(child.pid) == []


def test_the_cause_stays_in_the_log_tail(supervisor: Supervisor) -> None:
    script = "import sys\nprint('ValueError: the real cause')\nfor i in range(40): print('noise', i)\nsys.exit(1)"
    child = supervisor.spawn("noisy", [PY, "-c", script])
    with pytest.raises(StartFailed) as excinfo:
        child.wait_ready(lambda: False, timeout_s=10)
    message = str(excinfo.value)
    assert "ValueError: the real cause" in message
    assert "noise 39" in message and "noise 10" not in message


SETSID_GRANDCHILD = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    print("grandchild", os.getpid(), flush=True)
    time.sleep(60)
    os._exit(0)
if sys.argv[1] == "exit":
    os._exit(0)
time.sleep(60)
"""


def _grandchild_pid(child: object) -> int:
    for line in child.log_path.read_text().splitlines():  # type: ignore[attr-defined]
        if line.startswith("grandchild "):
            return int(line.split()[1])
    raise AssertionError("no grandchild line")


@pytest.mark.parametrize("parent", ["stays", "exit"])
def test_a_grandchild_that_calls_setsid_is_found_and_stopped(run_dir: Path, parent: str) -> None:
    with Supervisor(run_dir) as sup:
        child = sup.spawn("daemonizing", [PY, "-c", SETSID_GRANDCHILD, parent])
        deadline = time.monotonic() + 10
        while "grandchild" not in child.log_tail() and time.monotonic() < deadline:
            time.sleep(0.02)
        if parent == "exit":
            child.popen.wait(timeout=10)
        grandchild = _grandchild_pid(child)
        # Not in the child's session: only the parent chain (or, once orphaned, the marker) finds it.
        assert grandchild not in {p.pid for p in session_members(child.pid)}
        assert grandchild in {info.pid for info in sup.leftovers()}
    assert sup.leftovers() == []
    with pytest.raises(ProcessLookupError):
        os.kill(grandchild, 0)


def test_each_spawn_is_recorded_in_the_run_directory(supervisor: Supervisor, run_dir: Path) -> None:
    child = supervisor.spawn("sleeper", [PY, "-c", "import time; time.sleep(60)"])
    lines = (run_dir / "servebench.pids").read_text().splitlines()
    assert lines[0].startswith(f"supervisor {os.getpid()} ")
    assert lines[1].split()[0:2] == ["child", str(child.pid)] and lines[1].endswith(" sleeper")
    assert (run_dir / "servebench.pids").stat().st_mode & 0o777 == 0o600


def test_a_child_that_exits_before_it_is_ready_says_why_on_the_first_line(supervisor: Supervisor) -> None:
    # PostgreSQL's way: the cause, then lines that say nothing; the one line a user sees must hold the cause.
    script = (
        "import sys\nprint('LOG:  starting PostgreSQL 15')\n"
        "print('FATAL:  Unix-domain socket path \"/deep/.s.PGSQL.5432\" is too long (maximum 107 bytes)')\n"
        "print('LOG:  database system is shut down')\nsys.exit(1)"
    )
    child = supervisor.spawn("postgres-5432", [PY, "-c", script])
    with pytest.raises(StartFailed) as excinfo:
        child.wait_ready(lambda: False, timeout_s=10)
    assert str(excinfo.value).splitlines()[0] == (
        "postgres-5432: exited with status 1 before it was ready:"
        ' FATAL: Unix-domain socket path "/deep/.s.PGSQL.5432" is too long (maximum 107 bytes)'
    )


def _deep(parent: Path) -> Path:
    """A directory whose run directories are too deep for a unix socket (as a test's TMPDIR can be)."""
    deep = parent / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    return deep


def test_a_socket_of_a_run_directory_too_deep_goes_to_a_short_private_one(tmp_path: Path) -> None:
    with RunDir(parent=_deep(tmp_path)) as run_dir:
        with Supervisor(run_dir.path) as sup:
            assert sup.socket_path("short.sock") != run_dir.path / "short.sock"
            path = sup.socket_path("memcached-0123abcd.sock")
            assert len(os.fsencode(path)) <= 107
            assert path.parent.name.startswith(f"{run_dir.path.name}-sockets-")
            assert path.parent.stat().st_mode & 0o777 == 0o700
            assert sup.socket_path("gunicorn-40000.sock").parent == path.parent
        assert not path.parent.exists()
    with RunDir(parent=Path("/tmp")) as shallow, Supervisor(shallow.path) as sup:
        assert sup.socket_path("x.sock") == shallow.path / "x.sock"
