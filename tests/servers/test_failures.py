"""What broke, said in one line: tracebacks in logs, Django's decisions, the proof before the load,
and servers that run in the project's directory."""

from __future__ import annotations

import json
import sysconfig
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from django.core.wsgi import get_wsgi_application

from probes.bench.judge.rules import diagnose
from probes.bench.loadgen.plan import LoadPlan
from probes.bench.measure.sweep import sweep
from probes.bench.model.results import Failure, Suite
from probes.bench.model.tracebacks import ExceptionSeen
from probes.bench.processes.rundir import RunDir
from probes.bench.processes.supervisor import Supervisor
from probes.bench.servers.kinds import ServerConfig
from probes.bench.servers.stack import http_get
from probes.job import failures
from probes.job.launcher import Launcher, PathFailed, Proof
from probes.report.terminal import sweep_table
from tests import broken_urls
from tests.conftest import require_binary
from tests.factories import METADATA, gunicorn_run

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = Path(sysconfig.get_path("purelib"))


def line_of(function: object, text: str) -> int:
    import inspect

    source, first = inspect.getsourcelines(function)  # type: ignore[arg-type]
    return first + next(index for index, line in enumerate(source) if text in line)


def test_tracebacks_in_a_log_are_named_by_the_users_innermost_frame(tmp_path: Path) -> None:
    boot = (
        "[2026-11-28 01:00:00 +0000] [12] [ERROR] Exception in worker process\n"
        "Traceback (most recent call last):\n"
        f'  File "{LIBRARY}/gunicorn/arbiter.py", line 608, in spawn_worker\n'
        "    worker.init_process()\n"
        f'  File "{tmp_path}/mysite/settings.py", line 129, in <module>\n'
        '    for _line in _Path(".env").read_text().splitlines():\n'
        "                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        f'  File "{LIBRARY}/../pathlib.py", line 1058, in read_text\n'
        "    with self.open(mode='r') as f:\n"
        "FileNotFoundError: [Errno 2] No such file or directory: '.env'\n"
        "[2026-11-28 01:00:00 +0000] [12] [INFO] Worker exiting (pid: 12)\n"
    )
    chained = (
        "Traceback (most recent call last):\n"
        f'  File "{LIBRARY}/django/db/backends/utils.py", line 105, in _execute\n'
        "    return self.cursor.execute(sql, params)\n"
        "sqlite3.OperationalError: no such table: shop_product\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        f'  File "{tmp_path}/shop/views.py", line 8, in home\n'
        "    products = list(Product.objects.order_by('name'))\n"
        f'  File "{LIBRARY}/django/db/backends/utils.py", line 105, in _execute\n'
        "    return self.cursor.execute(sql, params)\n"
        "django.db.utils.OperationalError: no such table: shop_product\n"
    )
    seen = failures.exceptions_in_log(boot + boot + chained, root=tmp_path)
    assert seen[0] == ExceptionSeen(
        "FileNotFoundError", "[Errno 2] No such file or directory: '.env'", "mysite/settings.py:129 in <module>", 2
    )
    # The chain's cause has no frame of the user's: its innermost frame is named instead
    assert [(item.type, item.count) for item in seen[1:]] == [("OperationalError", 1), ("OperationalError", 1)]
    # (relative to the library directory it lies in).
    assert seen[1].where == "django/db/backends/utils.py:105 in _execute"
    assert seen[2] == ExceptionSeen("OperationalError", "no such table: shop_product", "shop/views.py:8 in home", 1)


def test_what_django_decided_for_a_3xx_or_4xx_in_its_own_words() -> None:
    def decided(status: int, **kwargs: object) -> str:
        values: dict[str, object] = {"path": "/x/", "host": "127.0.0.1", "location": "", "logged": (), **kwargs}
        return failures.decided(status, **values)  # type: ignore[arg-type]

    assert decided(400, host="shop.example") == (
        "DisallowedHost: Invalid HTTP_HOST header: 'shop.example'. You may need to add 'shop.example' to ALLOWED_HOSTS."
    )
    assert decided(403, logged=[("django.security.csrf", "Forbidden (CSRF cookie not set.): /x/")]) == (
        "CSRF: Forbidden (CSRF cookie not set.): /x/: the view refused it for CSRF (--login-as USERNAME sends"
        " the login session's CSRF token; or make the view csrf_exempt)"
    )
    assert decided(302, location="/accounts/login/?next=/x/") == (
        "redirects to /accounts/login/?next=/x/: the page needs a login (--login-as USERNAME)"
    )
    assert decided(301, location="https://127.0.0.1/x/").startswith(
        "redirects to https://127.0.0.1/x/: the project sends plain HTTP to https (SECURE_SSL_REDIRECT?)"
    )
    assert decided(302, location="/y/") == "redirects to /y/: load that URL instead"
    assert decided(404, path="/nope/?page=2") == "no URL pattern of ROOT_URLCONF (benchsite.urls) matches /nope/"
    assert decided(404, path="/probes/trivial/") == (
        "/probes/trivial/ matched probes:trivial, whose view raised Http404 (no such object?)"
    )


@pytest.mark.urls("tests.broken_urls")
@pytest.mark.django_db  # the replay goes through the project's middleware, as a server would
def test_a_replay_in_process_names_the_exception_and_what_django_logged() -> None:
    app = get_wsgi_application()
    here = failures.replay(app, "/raises/", host="127.0.0.1", headers=(), root=ROOT)
    where = f"tests/broken_urls.py:{line_of(broken_urls.raises, 'raise LookupError')} in raises"
    assert here.status == 500
    assert here.exceptions == (ExceptionSeen("LookupError", "no shelf for /raises/", where, 1),)
    assert ("django.request", "Internal Server Error: /raises/") in here.logged

    refused = failures.replay(app, "/where/", host="shop.example", headers=(), root=ROOT)
    assert refused.status == 400
    assert any(logger == "django.security.DisallowedHost" for logger, _ in refused.logged)

    moved = failures.replay(app, "/moved/", host="127.0.0.1", headers=(), root=ROOT)
    assert (moved.status, moved.location) == (302, "https://127.0.0.1/moved/")


@pytest.mark.urls("tests.broken_urls")
@pytest.mark.django_db  # the replay goes through the project's middleware, as a server would
def test_a_replay_prints_nothing(settings: object, capfd: pytest.CaptureFixture[str]) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]  # Django's console handler prints the traceback then
    here = failures.replay(get_wsgi_application(), "/raises/", host="127.0.0.1", headers=(), root=ROOT)
    assert here.status == 500
    assert capfd.readouterr().err == ""


def test_the_summary_says_when_only_the_server_fails() -> None:
    seen = ExceptionSeen("TemplateDoesNotExist", "base/home_page.html", "home/views.py:12 in home", 4)
    failure = failures.failure(
        head="GET / answered 500",
        status=500,
        in_process=failures.InProcess(200),
        exceptions=[seen, replace(seen, type="OSError", message="x\ny")],
        decision="",
        logs=[],
    )
    assert failure.summary == (
        "GET / answered 500 (200 in servebench's own process: the server's environment differs):"
        " TemplateDoesNotExist: base/home_page.html at home/views.py:12 in home (+1 more)"
    )
    assert (failure.status, failure.in_process_status) == (500, 200)


def test_a_failure_round_trips_through_json_and_is_reported() -> None:
    failure = Failure(
        summary="GET / answered 500: LookupError: no shelf at shop/views.py:14 in broken",
        status=500,
        in_process_status=500,
        exceptions=(
            ExceptionSeen("LookupError", "no shelf", "shop/views.py:14 in broken", 3),
            ExceptionSeen("KeyError", "'x'\nmore", "shop/views.py:20 in other", 1),
        ),
        logs=("/tmp/servebench-x/gunicorn-1.log",),
    )
    run = gunicorn_run(1, path="/", failure=failure, timing=False, quality_reasons=(failure.summary,))
    run = replace(run, diagnosis=replace(diagnose(run, None), why="x"))
    twin = replace(run, workers=4, label="gunicorn w4 nginx/tcp", failure=replace(failure, logs=()))
    suite = Suite(metadata=METADATA, runs=(run, twin))
    assert Suite.from_dict(json.loads(json.dumps(suite.to_dict()))) == suite
    text = sweep_table(suite)
    assert "  why gunicorn w1 nginx/tcp (and 1 more): x\n" in text  # the same why, said once
    assert "  gunicorn w1 nginx/tcp: also raised KeyError: 'x' at shop/views.py:20 in other" in text
    assert "  logs kept in /tmp/servebench-x/:\n    gunicorn w1 nginx/tcp: gunicorn-1.log\n" in text
    assert "--no-timing: the servers ran the project's plain app, so there are no app figures" in text


def test_keep_logs_keeps_only_logs_configs_and_exceptions() -> None:
    run_dir = RunDir()
    for name in ("gunicorn-1.log", "nginx-2.conf", "db-1.sqlite3", "gunicorn-1.sock", "stats-1/9.exceptions"):
        (run_dir.path / name).parent.mkdir(exist_ok=True)
        (run_dir.path / name).write_text("x")
    (run_dir.path / "stats-1" / "9.stats").write_text("x")
    (run_dir.path / "nginx-proxy").mkdir()
    run_dir.keep_logs = True
    run_dir.cleanup()
    try:
        kept = sorted(str(path.relative_to(run_dir.path)) for path in run_dir.path.rglob("*"))
        assert kept == ["gunicorn-1.log", "nginx-2.conf", "stats-1", "stats-1/9.exceptions"]
    finally:
        run_dir.keep_logs = False
        run_dir.cleanup()
    assert not run_dir.path.exists()


# The servers: settings whose URLconf is tests.broken_urls, started from another directory.


def _launcher(tmp_path_factory: pytest.TempPathFactory, *, timing: bool) -> Iterator[Launcher]:
    directory = tmp_path_factory.mktemp("project-directory")
    with RunDir() as run_dir, Supervisor(run_dir.path) as supervisor, pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        launcher = Launcher(
            run_dir=run_dir.path,
            supervisor=supervisor,
            memcached=None,
            extra_env={"DJANGO_SETTINGS_MODULE": "tests.settings_broken"},
            timing=timing,
        )
        patch.undo()
        yield launcher
        assert supervisor.leftovers() == []


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    yield from _launcher(tmp_path_factory, timing=True)


@pytest.fixture(scope="module")
def plain_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    yield from _launcher(tmp_path_factory, timing=False)


CONFIGS = [
    ServerConfig("gunicorn", 1),
    ServerConfig("gunicorn-gthread", 1, 2, front="nginx"),
    ServerConfig("uwsgi", 2, front="nginx", socket="unix"),
    ServerConfig("flup-threaded", 1, front="nginx"),
    ServerConfig("flup-prefork", 2, front="nginx", socket="unix"),
]


@pytest.mark.servers
@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: config.label.replace(" ", "-"))
def test_every_server_runs_in_the_projects_directory(launcher: Launcher, config: ServerConfig) -> None:
    if config.front == "nginx":
        require_binary("nginx")
    assert launcher.directory != Path.cwd()
    stack = launcher.start(config, proof=Proof("/where/"))
    try:
        answer = http_get(stack.port, "/where/", host_header=launcher.host_header)
    finally:
        stack.stop()
    assert (answer.status, answer.body.decode()) == (200, str(launcher.directory))
    assert list(launcher.directory.iterdir()) == [], "servebench's own files belong in the run directory"


def _plan(launcher: Launcher, path: str) -> LoadPlan:
    return LoadPlan(path=path, host_header=launcher.host_header, duration_s=1.0, warmup_s=0.2, repeat=1)


@pytest.mark.servers
def test_a_path_that_fails_stops_its_configuration_before_any_load(launcher: Launcher) -> None:
    where = f"tests/broken_urls.py:{line_of(broken_urls.raises, 'raise LookupError')} in raises"
    runs = sweep(
        [ServerConfig("gunicorn", 2)],
        _plan(launcher, "/raises/"),
        start=partial(launcher.start, proof=Proof("/raises/")),
        service_pids={},
        progress=lambda message: None,
        on_run=lambda run: None,
        start_errors=(PathFailed,),
    )
    [run] = runs
    assert run.samples == () and run.quality == "failing"
    failure = launcher.explain(run)
    assert failure is not None
    assert failure.summary == run.error
    # The recorder names the frame relative to the server's directory; this file lies outside it.
    assert failure.summary.startswith("GET /raises/ answered 500: LookupError: no shelf for /raises/ at ")
    assert failure.summary.endswith(where)
    assert [(seen.type, seen.count) for seen in failure.exceptions] == [("LookupError", 1)]
    assert failure.logs and all(Path(log).is_file() for log in failure.logs)


@pytest.mark.servers
@pytest.mark.urls("tests.broken_urls")
@pytest.mark.django_db  # the replay goes through the project's middleware, as a server would
def test_without_timing_the_plain_app_serves_and_the_replay_names_the_exception(plain_launcher: Launcher) -> None:
    stack = plain_launcher.start(ServerConfig("gunicorn", 1), proof=Proof("/where/"))
    try:
        assert stack.stats_dir is None
        assert http_get(stack.port, "/where/", host_header=plain_launcher.host_header).status == 200
    finally:
        stack.stop()
    assert not list(plain_launcher.run_dir.glob("stats-*")), "no timing wrapper, no counters"
    here = failures.replay(get_wsgi_application(), "/raises/", host=plain_launcher.host_header, headers=(), root=ROOT)
    with pytest.raises(PathFailed) as excinfo:
        plain_launcher.start(ServerConfig("gunicorn", 1), proof=Proof("/raises/", in_process=here))
    where = f"tests/broken_urls.py:{line_of(broken_urls.raises, 'raise LookupError')} in raises"
    assert str(excinfo.value) == f"GET /raises/ answered 500: LookupError: no shelf for /raises/ at {where}"


@pytest.mark.servers
def test_check_says_what_its_request_answered(launcher: Launcher) -> None:
    from probes.job.launcher import check_one

    # The servers route tests.broken_urls only: the trivial probe is not found through them.
    check = check_one(launcher, ServerConfig("gunicorn", 1))
    assert not check.ok
    assert check.reason.startswith("GET /probes/trivial/ answered 404: ")
    assert launcher.supervisor.leftovers() == []
