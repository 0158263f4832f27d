"""The sweep against real servers: short windows, real figures, honest failures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure.sweep import measure_config
from probes.bench.model.results import Suite
from probes.bench.model.stats import Spread
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.memcached import Memcached
from probes.job.launcher import Launcher
from probes.report.lines import window_lines
from tests.conftest import require_binary

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def launcher(memcached: Memcached) -> Iterator[Launcher]:
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor:
        yield Launcher(run_dir=run_dir.path, supervisor=supervisor, memcached=memcached)


def _plan(path: str, launcher: Launcher, generator: str = "builtin") -> LoadPlan:
    return LoadPlan(
        path=path,
        host_header=launcher.host_header,
        generator=generator,
        duration_s=1.0,
        warmup_s=0.2,
        repeat=2,
    )


@pytest.mark.parametrize("kind", ["gunicorn", "uwsgi"])
def test_builtin_generator_measures_plausible_figures(launcher: Launcher, kind: str) -> None:
    run = measure_config(
        ServerConfig(kind, 2), _plan("/probes/trivial/", launcher), start=launcher.start, service_pids={}
    )
    assert run.error == ""
    # At least the 2 asked for; more (up to 6, those set aside included) until the median r/s is sure.
    assert len(run.samples) >= 2 and len(run.samples) + run.set_aside <= 6
    for sample in run.samples:
        assert sample.ok_per_s > 0
        assert sample.errors == {}
        assert sample.latency_ms["p50"] > 0
        assert sample.cpu_s["server"] > 0 and sample.cpu_s["client"] > 0
        assert sample.app.requests > 0
        # The app's own count matches the generator's within the requests in flight at the window's
        # two edges (the warm-up's last ones may end inside it, the window's last ones after it).
        assert abs(sample.app.requests - sample.ok) <= 2 * run.concurrency
        assert sample.served_by_pid, "the timing wrapper saw no worker serve"
    assert len(run.memory.workers) == 2
    assert all(0 < p.uss_bytes <= p.rss_bytes for p in run.memory.processes)
    assert run.quality != "failing", run.quality_reasons


def test_a_slow_views_window_is_sized_by_requests_and_the_cap_says_what_it_cost(launcher: Launcher) -> None:
    # 20 ms per request on one worker: ~50 r/s, so 200 requests need ~4 s; the cap (1.5 s) ends it first.
    plan = replace(_plan("/probes/sleep/?ms=20", launcher), concurrency=8, repeat=1, max_window_s=1.5)
    run = measure_config(ServerConfig("gunicorn", 1, front="direct"), plan, start=launcher.start, service_pids={})
    assert run.error == "" and run.samples
    for window in run.samples:
        assert window.target_requests == 200 and window.capped, window
        assert 1.4 <= window.duration_s <= 1.7
        # The server's own count over its CPU's interval, beside the client's: the edges' requests apart.
        assert window.server_requests is not None
        assert abs(window.server_requests - window.requests) <= 2 * run.concurrency
    [line] = window_lines([run])
    assert f"with as few as {run.summary.least_requests} of the 200 requests sized for" in line


def test_a_url_answering_500_is_failing_with_its_error_count(launcher: Launcher) -> None:
    run = measure_config(
        ServerConfig("gunicorn", 1),
        _plan("/probes/status/?code=500", launcher),
        start=launcher.start,
        service_pids={},
    )
    assert run.quality == "failing"
    errors = sum(sample.errors.get("non2xx", 0) for sample in run.samples)
    assert errors > 0 and errors == sum(sample.requests for sample in run.samples)
    assert "non2xx" in run.quality_reasons[0] and "500:" in run.quality_reasons[0]


def test_a_redirecting_url_is_named_as_such(launcher: Launcher) -> None:
    run = measure_config(
        ServerConfig("gunicorn", 1),
        _plan("/probes/status/?code=302", launcher),
        start=launcher.start,
        service_pids={},
    )
    assert run.quality == "failing"
    assert run.quality_reasons[0] == "the URL redirects to /probes/status/?code=200: load that URL instead"


def test_trivial_measures_faster_than_template_django(launcher: Launcher) -> None:
    rates = {}
    for probe in ("trivial", "template-django"):
        run = measure_config(
            ServerConfig("gunicorn", 2),
            _plan(f"/probes/{probe}/", launcher),
            start=launcher.start,
            service_pids={},
        )
        rates[probe] = Spread.of([sample.ok_per_s for sample in run.samples]).median
    assert rates["trivial"] > rates["template-django"]


@pytest.mark.django_db(transaction=True)
def test_the_command_sweeps_saves_json_and_round_trips(private_caches: None, tmp_path: Path) -> None:
    require_binary("wrk")
    out = StringIO()
    path = tmp_path / "sweep.json"
    call_command(
        "servebench",
        *("--probe", "session-cache", "--server", "gunicorn", "--server", "uwsgi", "--workers", "1,2"),
        *(
            "--front",
            "direct",
            "--duration",
            "1",
            "--warmup",
            "0.2",
            "--repeat",
            "2",
            "--max-repeat",
            "2",
            "--json",
            str(path),
        ),
        stdout=out,
    )
    suite = Suite.load(path)
    assert [run.label for run in suite.runs] == [
        "gunicorn w1 direct",
        "gunicorn w2 direct",
        "uwsgi w1 direct",
        "uwsgi w2 direct",
    ]
    assert {run.generator for run in suite.runs} == {"wrk"}
    assert Suite.from_dict(suite.to_dict()) == suite
    text = out.getvalue()
    assert "/probes/session-cache/  (direct; load: wrk" in text
    assert "memory model:" in text and "gunicorn [direct]: total PSS ≈" in text
    for run in suite.runs:
        assert all(sample.ok > 0 and sample.errors == {} for sample in run.samples), run.label
        # wrk drives the load here: the wrapper inside the server counts the same requests, within
        # those in flight and the one request the wrk adapter sends first to learn the status.
        assert all(abs(s.app.requests - s.ok) <= run.concurrency + 1 for s in run.samples), run.label


def test_pin_puts_the_generator_and_the_server_on_separate_cores(launcher: Launcher) -> None:
    from probes.bench.measure.window import pin_stack, pinning

    client_cores, server_cores = pinning({0, 1}) or (set(), set())
    assert (client_cores, server_cores) == ({1}, {0})
    assert pinning({0}) is None
    stack = launcher.start(ServerConfig("gunicorn", 2))
    try:
        pin_stack(stack, {0})
        assert {frozenset(os.sched_getaffinity(info.pid)) for info in stack.server.session()} == {frozenset({0})}
    finally:
        stack.stop()


def test_a_configuration_that_fails_to_start_is_recorded_and_the_sweep_goes_on(launcher: Launcher) -> None:
    from probes.bench.measure.sweep import sweep
    from probes.bench.processes.child import StartFailed

    def start(config: ServerConfig):  # type: ignore[no-untyped-def]
        if config.workers == 1:
            raise StartFailed("gunicorn-1: exited with status 3 before it was ready\nWorker failed to boot.")
        return launcher.start(config)

    finished = []
    runs = sweep(
        [ServerConfig("gunicorn", 1), ServerConfig("gunicorn", 2)],
        _plan("/probes/trivial/", launcher),
        start=start,
        service_pids={},
        progress=lambda message: None,
        on_run=finished.append,
        start_errors=(StartFailed,),
    )
    assert [run.label for run in finished] == ["gunicorn w1 direct", "gunicorn w2 direct"]
    assert runs[0].error.startswith("gunicorn-1: exited with status 3") and runs[0].quality == "failing"
    assert runs[1].error == "" and runs[1].samples


QUICK = ["--server", "gunicorn", "--workers", "1", "--front", "direct", "--loadgen", "builtin"]
QUICK += ["--duration", "1", "--warmup", "0.2", "--repeat", "1"]


@pytest.mark.django_db  # the in-process replay goes through the project's middleware
def test_no_valid_result_exits_non_zero_in_one_line_and_keeps_what_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the run directory (and its kept logs) go
    path, err = tmp_path / "nope.json", StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("servebench", "--url", "/nope/", *QUICK, "--json", str(path), stdout=StringIO(), stderr=err)
    assert str(excinfo.value) == (
        "no valid result: every run failed; gunicorn w1 direct:"
        " GET /nope/ answered 404: no URL pattern of ROOT_URLCONF (benchsite.urls) matches /nope/"
    )
    [run] = Suite.load(path).runs
    assert run.failure is not None and (run.failure.status, run.failure.in_process_status) == (404, 404)
    assert run.samples == ()
    [kept] = tmp_path.glob("servebench-*")
    assert err.getvalue().splitlines()[-1] == f"logs of the failing configurations kept in {kept}"
    assert [Path(log).parent for log in run.failure.logs] == [kept]
    assert all(path.suffix in {".log", ".conf", ".exceptions"} for path in kept.rglob("*") if path.is_file())


def test_no_timing_runs_the_plain_app_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    call_command("servebench", "--probe", "trivial", "--no-timing", *QUICK, "--json", str(path), stdout=StringIO())
    [run] = Suite.load(path).runs
    assert run.timing is False
    assert run.quality != "failing", run.quality_reasons
    [window] = run.samples
    assert window.ok > 0 and window.errors == {}
    assert window.app.requests == 0, "no timing wrapper in the server"


@pytest.mark.django_db  # the in-process replay goes through the project's middleware
def test_a_url_on_the_demo_site_gets_the_managed_memcached(private_caches: None, tmp_path: Path) -> None:
    # The session-cache view stores its sessions in the managed alias although SESSION_ENGINE is the
    # database: given as --url (no probe says so), it still needs servebench's memcached.
    require_binary("memcached")
    path, err = tmp_path / "session-cache.json", StringIO()
    call_command(
        "servebench", "--url", "/probes/session-cache/", *QUICK, "--json", str(path), stdout=StringIO(), stderr=err
    )
    [run] = Suite.load(path).runs
    assert run.quality != "failing", run.quality_reasons
    [window] = run.samples
    assert window.ok > 0 and window.status_counts == {"200": window.requests}
    assert "memcached" in window.cpu_s, "servebench's memcached is a CPU role of the run"
