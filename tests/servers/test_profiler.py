"""py-spy under load: a real gunicorn's hot function comes out on top; where ptrace is refused, one line says why."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from probes.bench.loadgen import LoadSpec, run_load
from probes.bench.measure.pyspy import ProfilerUnavailable, ptrace_refusal, py_spy_path, start_profiler
from probes.bench.measure.speedscope import SHARES, Profile, read_speedscope
from probes.bench.processes.ports import accepts_connections, free_port
from probes.bench.processes.supervisor import Supervisor
from tests.conftest import IN_CI

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "profile_small.speedscope.json"
SITE = Path("/venv/lib/python3.12/site-packages")
HOT_APP = textwrap.dedent(
    """
    import time

    def spin_the_distinctive_loop():
        deadline = time.thread_time() + 0.002
        while time.thread_time() < deadline:
            pass

    def application(environ, start_response):
        spin_the_distinctive_loop()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\\n"]
    """
)


def require_py_spy() -> str:
    """py-spy's path; skip (fail under CI=true, where requirements.txt installs it) when it is missing."""
    path = py_spy_path()
    if path is None:
        message = "py-spy is not installed (pip install py-spy)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return path


def test_the_small_profile_is_read_into_shares_and_top_functions() -> None:
    profile = read_speedscope(FIXTURE, project_dirs=[Path("/srv/shop")], probes_dir=SITE / "probes")
    # The fixture's worker (pid 101) took 10 samples; the arbiter (100) only slept: it serves nothing.
    assert (profile.samples, profile.processes) == (10, 1)
    assert profile.shares == pytest.approx(
        {"view": 0.5, "database": 0.2, "servebench": 0.1, "idle": 0.1, "server": 0.1, "other": 0.0}
    )
    # The project's functions by total: the view's cost is in what it calls.
    assert [(f.function, f.self_pct, f.total_pct) for f in profile.top] == [
        ("checkout", 10.0, 70.0),
        ("price_basket", 30.0, 40.0),
    ]
    assert {f.kind for f in profile.top} == {"project"}
    elsewhere = {f.function: f.kind for f in profile.elsewhere}
    assert elsewhere == {
        "SQLiteCursorWrapper.execute": "database",
        "TimedApp.__call__": "servebench",
        "dumps": "other",
        "formatdate": "other",
    }
    assert profile.elsewhere[0].function == "SQLiteCursorWrapper.execute"
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_named_serving_pids_replace_the_guess() -> None:
    profile = read_speedscope(FIXTURE, project_dirs=[Path("/srv/shop")], probes_dir=SITE / "probes", serving_pids=[100])
    assert profile.samples == 5
    assert profile.shares["idle"] == 1.0


@pytest.mark.parametrize(
    ("scope", "expected"),
    [("1", "ptrace_scope = 1"), ("2", "ptrace_scope = 2"), ("3", "ptrace_scope = 3")],
)
def test_a_yama_scope_without_cap_sys_ptrace_is_one_line(tmp_path: Path, scope: str, expected: str) -> None:
    (tmp_path / "scope").write_text(scope + "\n")
    (tmp_path / "status").write_text("Name:\tpython\nCapEff:\t0000000000000000\n")
    reason = ptrace_refusal(1, scope_path=tmp_path / "scope", status_path=tmp_path / "status")
    assert reason is not None and expected in reason and "\n" not in reason


def test_cap_sys_ptrace_lifts_scopes_1_and_2_not_3(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("CapEff:\t0000000000080000\n")  # bit 19: CAP_SYS_PTRACE
    for scope, refused in (("0", False), ("1", False), ("2", False), ("3", True)):
        (tmp_path / "scope").write_text(scope)
        reason = ptrace_refusal(1, scope_path=tmp_path / "scope", status_path=tmp_path / "status")
        assert (reason is not None) == refused, scope


def test_a_process_that_does_not_exist_is_refused_in_one_line(supervisor: Supervisor, run_dir: Path) -> None:
    require_py_spy()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with pytest.raises(ProfilerUnavailable, match=f"process {gone.pid} does not exist") as excinfo:
        start_profiler(supervisor, pid=gone.pid, output=run_dir / "gone.json", max_duration_s=5)
    assert "\n" not in str(excinfo.value)


def test_a_process_that_is_not_python_gives_py_spy_s_reason_in_one_line(supervisor: Supervisor, run_dir: Path) -> None:
    require_py_spy()
    target = supervisor.spawn("not-python", ["sleep", "60"])
    with pytest.raises(ProfilerUnavailable, match=f"could not attach to pid {target.pid}") as excinfo:
        start_profiler(supervisor, pid=target.pid, output=run_dir / "sleep.json", max_duration_s=5)
    assert "\n" not in str(excinfo.value)
    assert [child.alive() for child in supervisor.children if child.name.startswith("py-spy")] == [False]


def test_scope_3_refuses_before_py_spy_starts(supervisor: Supervisor, run_dir: Path, tmp_path: Path) -> None:
    require_py_spy()
    (tmp_path / "scope").write_text("3\n")
    with pytest.raises(ProfilerUnavailable, match="ptrace_scope = 3"):
        start_profiler(supervisor, pid=1, output=run_dir / "x.json", max_duration_s=5, scope_path=tmp_path / "scope")
    assert supervisor.children == []


def test_a_planted_link_at_the_output_is_refused(supervisor: Supervisor, run_dir: Path, tmp_path: Path) -> None:
    require_py_spy()
    # A process of ours, not pid 1: only root may trace pid 1, and the refusal must come from the link.
    target = supervisor.spawn("target", [sys.executable, "-c", "import time; time.sleep(60)"])
    if (refusal := ptrace_refusal(target.pid)) is not None:
        if IN_CI:
            pytest.fail(f"CI=true: {refusal}")
        pytest.skip(f"this user may not trace its own processes here: {refusal}")
    (run_dir / "planted.json").symlink_to(tmp_path / "elsewhere.json")
    spawned = len(supervisor.children)
    with pytest.raises(ProfilerUnavailable, match="exists already"):
        start_profiler(supervisor, pid=target.pid, output=run_dir / "planted.json", max_duration_s=5)
    assert not (tmp_path / "elsewhere.json").exists()
    assert len(supervisor.children) == spawned, "py-spy was started"


@pytest.mark.servers
def test_the_hot_function_of_a_real_gunicorn_under_load_is_on_top(
    supervisor: Supervisor, run_dir: Path, tmp_path: Path
) -> None:
    require_py_spy()
    project = tmp_path / "project"
    project.mkdir()
    (project / "hotapp.py").write_text(HOT_APP)
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    argv = [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(project), "hotapp:application"]
    server = supervisor.spawn("gunicorn", argv)
    server.wait_ready(lambda: accepts_connections("127.0.0.1", port), timeout_s=15)
    rate_hz, window_s = 100, 3.0
    try:
        profiler = start_profiler(
            supervisor, pid=server.pid, output=run_dir / "profile.json", max_duration_s=window_s + 10, rate_hz=rate_hz
        )
    except ProfilerUnavailable as exc:
        if "ptrace" in str(exc):  # a container or a Yama scope that forbids it: the refusal is tested above
            pytest.skip(str(exc))
        raise
    result = run_load(LoadSpec(path="/", port=port, concurrency=4, duration_s=window_s, warmup_s=0.0))
    recording = profiler.finish()
    assert result.ok > 0 and recording.samples > 0
    assert recording.path.stat().st_mode & 0o777 == 0o600
    profile = read_speedscope(recording.path, project_dirs=[project], probes_dir=Path("probes").resolve())
    assert profile.processes == 2  # the two workers; the arbiter served nothing
    # Every thread of the serving processes is sampled rate_hz times a second, idle or not.
    assert profile.samples == pytest.approx(rate_hz * window_s * profile.processes, rel=0.5)
    # By total, the app and the loop it calls; the loop's self time dwarfs every other.
    assert {f.function for f in profile.top[:2]} == {"application", "spin_the_distinctive_loop"}
    spin = next(f for f in profile.top if f.function == "spin_the_distinctive_loop")
    assert spin.self_pct > 3 * max((f.self_pct for f in profile.top if f is not spin), default=0.0)
    assert profile.hot is not None and profile.hot.function == "application"
    assert profile.shares["view"] > profile.shares["server"] > 0
    assert {f.kind for f in profile.top} == {"project"}
    assert "server" in {f.kind for f in profile.elsewhere}
    assert sum(profile.shares[name] for name in SHARES) == pytest.approx(1.0)


def test_a_thread_pool_waiting_for_work_is_idle_and_its_request_is_the_view(tmp_path: Path) -> None:
    lib = "/usr/lib/python3.12"
    frames = [
        {"name": 'process 7:"gunicorn -k gthread"', "file": "", "line": 0},
        {"name": "Thread._bootstrap", "file": f"{lib}/threading.py", "line": 990},
        {"name": "_worker", "file": f"{lib}/concurrent/futures/thread.py", "line": 69},
        {"name": "_WorkItem.run", "file": f"{lib}/concurrent/futures/thread.py", "line": 53},
        {"name": "ThreadWorker.handle", "file": f"{SITE}/gunicorn/workers/gthread.py", "line": 270},
        {"name": "checkout", "file": "/srv/shop/shop/views.py", "line": 12},
    ]
    waiting, serving = [0, 1, 2], [0, 1, 2, 3, 4, 5]
    doc = {"profiles": [{"samples": [waiting, waiting, waiting, serving]}], "shared": {"frames": frames}}
    (tmp_path / "gthread.json").write_text(json.dumps(doc))
    profile = read_speedscope(tmp_path / "gthread.json", project_dirs=[Path("/srv/shop")], probes_dir=SITE / "probes")
    assert profile.shares["idle"] == pytest.approx(0.75)
    assert profile.shares["view"] == pytest.approx(0.25)
    assert profile.elsewhere == ()  # idle samples are nobody's self time
