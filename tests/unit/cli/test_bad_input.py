"""Bad input is refused before anything starts: one line, a non-zero exit, no process, no run directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import psutil
import pytest
from django.core.management import CommandError, call_command

from probes.cli.inputs import WORKER_BYTES
from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[3]
# A refusal takes milliseconds; 2 s leaves room for a loaded CI machine, not for a started server.
REFUSED_WITHIN_S = 2.0

# (argv, what the one line must say). "{tmp}" is the test's temporary directory.
CASES: list[tuple[list[str], str]] = [
    # Worker counts: none, nonsense, more than this machine's memory holds.
    (["--workers", ""], "--workers must be whole numbers of at least 1, not ''"),
    (["--workers", ","], "--workers must be whole numbers of at least 1"),
    (["--workers", "0"], "--workers must be whole numbers of at least 1"),
    (["--workers", "two"], "--workers takes whole numbers separated by commas"),
    (["--workers", "1e3"], "--workers takes whole numbers separated by commas"),
    (["--workers", "100000"], "--workers 100000: at ~15 MB each they need"),
    (["--check", "--workers", ""], "--workers must be whole numbers of at least 1, not ''"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--server", "gunicorn-gthread", "--threads", "10000000"], "this machine allows"),
    # Connections: more than the open-file limit allows the load generator.
    (
        ["--concurrency", "100000000", "--front", "direct"],
        "--concurrency 100000000: the load generator needs 100000064 open files",
    ),
    (["--concurrency", "0"], "--concurrency must be whole numbers of at least 1, not '0'"),
    (["--concurrency", "1.5"], "--concurrency takes whole numbers separated by commas, not '1.5'"),
    (["--concurrency", "1,4", "--rate", "100"], "--concurrency with several levels is a closed loop"),
    # Times and counts that are no times or counts.
    (["--duration", "inf"], "--duration takes a number of seconds, not inf"),
    (["--duration", "nan"], "--duration takes a number of seconds, not nan"),
    (["--duration", "0"], "--duration must be above 0 and at most 3600, not 0"),
    (["--duration", "1e308"], "--duration must be above 0 and at most 3600"),
    (["--duration", "soon"], "argument --duration: invalid float value: 'soon'"),
    (["--warmup", "-1"], "--warmup must be at least 0 and at most 3600, not -1"),
    (["--warmup", "inf"], "--warmup takes a number of seconds, not inf"),
    (["--repeat", "0"], "--repeat must be between 1 and 100, not 0"),
    (["--repeat", "99999999999999999999"], "--repeat must be between 1 and 100"),
    (["--repeat", "3", "--max-repeat", "2"], "--max-repeat must be between --repeat (3) and 100, not 2"),
    (["--rate", "nan"], "--rate takes requests per second above 0"),
    (["--rate", "0"], "--rate takes requests per second above 0"),
    # A constant rate that wrk and ab cannot hold.
    (
        ["--loadgen", "wrk", "--rate", "100"],
        "--rate needs --loadgen builtin or locust: wrk cannot hold a constant rate",
    ),
    (["--loadgen", "ab", "--rate", "100"], "--rate needs --loadgen builtin or locust: ab cannot hold a constant rate"),
    # URLs and headers: nothing that would split or corrupt the request.
    (["--url", "/a\r\nX-Injected: 1"], r"--url may not contain '\r'"),
    (["--url", "/a\nb"], r"--url may not contain '\n'"),
    (["--url", "/a b"], "--url may not contain a space (percent-encode it: %20)"),
    (["--url", "/a\x00"], r"--url may not contain '\x00'"),
    (["--url", "/caf\u00e9"], "--url may not contain 'é' (percent-encode it)"),
    (["--url", "/" + "a" * 9000], "--url is 9001 characters long"),
    (["--url", "http://example.com/"], "--url takes a path of this project"),
    (["--url", "/a", "--probe", "trivial"], "give --url or --probe, not both"),
    (["--header", "X-A: b\r\nX-Injected: 1"], r"--header X-A: the value may not contain '\r'"),
    (["--header", "X-A: \x00"], r"--header X-A: the value may not contain '\x00'"),
    (["--header", "Bad Name: x"], "--header: 'Bad Name' is not a header name"),
    (["--header", "X(A): x"], "--header: 'X(A)' is not a header name"),
    (["--header", "no colon"], "--header takes 'Name: value'"),
    (["--header", "Host: evil.example"], "--header Host: servebench sets it itself"),
    (["--header", "Connection: close"], "--header Connection: servebench sets it itself (--no-keepalive)"),
    (["--loadgen", "ab", "--header", "Authorization: Bearer x"], "ab takes headers only on its command line"),
    (["--loadgen", "ab", "--login-as", "alice"], "--login-as: ab takes its cookie on its command line"),
    # Results that cannot be written where asked.
    (["--json", "/nonexistent/dir/x.json"], "--json /nonexistent/dir/x.json: its directory /nonexistent/dir cannot"),
    (["--json", "."], "--json .: that names a directory"),
    (["--json", "{tmp}/"], "that names a directory"),
    (["--json", "{tmp}"], "it exists and is a directory, not a regular file"),
    (["--json", "{tmp}/fifo"], "it exists and is a FIFO, not a regular file"),
    (["--json", "{tmp}/link.json"], "it exists and is a symbolic link, not a regular file"),
    (["--json", "{tmp}/file/x.json"], "Not a directory"),
    (["--view-cost", "--json", "."], "--json .: that names a directory"),
    # Databases and caches decided from the settings, before anything connects.
    (["--login-as", "alice", "--database", "postgres"], "--login-as needs the project's own database"),
    (["--login-as", "alice"], "--login-as needs the project's own database: the demo's are fresh copies"),
    (["--memcached", "nope"], "--memcached: expected HOST:PORT, not 'nope'"),
    (["--memcached", "127.0.0.1:99999"], "--memcached: port 99999 is out of range"),
    (["--memcached", "127.0.0.1:11211", "--memcached-tcp"], "give --memcached HOST:PORT or --memcached-tcp"),
    (["--memcached", "10.9.8.7:11211"], "refusing to run: --memcached 10.9.8.7 is not on this machine"),
    # Names servebench does not know, and jobs that cannot be combined.
    (["--server", "nope"], "unknown server 'nope'"),
    (["--probe", "nope"], "unknown probe 'nope'"),
    (["--server", "flup-prefork", "--front", "direct"], "FastCGI servers (flup) need --front nginx"),
    (["--explain", "--probe", "trivial", "--probe", "sleep"], "--explain diagnoses one URL"),
    (["--check", "--explain"], "argument --explain: not allowed with argument --check"),
    (["--view-cost", "--profile"], "--profile samples configurations under load: --view-cost puts none under load"),
    (["--check", "--probe", "trivial", "--probe", "cpu"], "--check checks one URL: give one --probe or --url"),
    # Reports: a format the extension does not name, and jobs without configurations under load.
    (["--report", "{tmp}/r.pdf"], "--report {tmp}/r.pdf: the extension says the format (.md, .csv, .html)"),
    (["--report", "{tmp}/nodir/r.md"], "--report {tmp}/nodir/r.md: its directory {tmp}/nodir cannot be used"),
    (["--report", "{tmp}/link.html"], "it exists and is a symbolic link, not a regular file"),
    (["--check", "--report", "{tmp}/r.md"], "--report needs configurations under load: --check measures none"),
    # --from: a file that is not a servebench result of this version, said in one line.
    (["--from", "{tmp}/missing.json"], "--from {tmp}/missing.json: No such file or directory"),
    (["--from", "{tmp}"], "--from {tmp}: not a regular file (a directory)"),
    (["--from", "{tmp}/fifo"], "--from {tmp}/fifo: not a regular file (a FIFO)"),
    (["--from", "/dev/zero"], "--from /dev/zero: not a regular file (a character device)"),
    (["--from", "{tmp}/deep.json"], "--from {tmp}/deep.json: nested deeper than 32 levels, not a servebench result"),
    (["--compare", "{tmp}/deep.json", "/dev/zero"], "{tmp}/deep.json: nested deeper than 32 levels"),
    (["--compare", "/dev/zero", "{tmp}/deep.json"], "/dev/zero: not a regular file (a character device)"),
    (["--from", "{tmp}/file"], "--from {tmp}/file: not JSON (Expecting value: line 1 column 1 (char 0))"),
    (["--from", "{tmp}/binary.json"], "--from {tmp}/binary.json: not JSON (not UTF-8 text)"),
    (["--from", "{tmp}/list.json"], "--from {tmp}/list.json: not a servebench result (AttributeError"),
    (["--from", "{tmp}/v2.json"], "--from {tmp}/v2.json: not a servebench/1 result (format: 'servebench/2')"),
    (["--from", "{tmp}/other.json"], "--from {tmp}/other.json: not a servebench/1 result (format: None)"),
    (["--from", "{tmp}/shape.json"], "--from {tmp}/shape.json: not a servebench result (KeyError: 'metadata')"),
    (["--from", "{tmp}/v2.json", "--check"], "--from renders a saved result: it measures nothing, so it takes no"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(argv)[:60] for argv, _ in CASES])
def test_bad_input_is_refused_at_once_in_one_line(
    argv: list[str], message: str, tmp_path: Path, nothing_starts: Callable[[], None]
) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "link.html").symlink_to(tmp_path / "elsewhere.html")
    (tmp_path / "file").write_text("")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "v2.json").write_text('{"format": "servebench/2", "metadata": {}}')
    (tmp_path / "other.json").write_text('{"benchmarks": []}')
    (tmp_path / "shape.json").write_text('{"format": "servebench/1"}')
    (tmp_path / "deep.json").write_text('{"format": "servebench/1", "metadata": ' + "[" * 10**5 + "]" * 10**5 + "}")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    started = time.monotonic()
    with pytest.raises(CommandError) as excinfo:
        call_command("servebench", *argv, stdout=StringIO(), stderr=StringIO())
    elapsed = time.monotonic() - started
    line = str(excinfo.value)
    assert message.replace("{tmp}", str(tmp_path)) in line
    assert "\n" not in line and "\r" not in line and "Traceback" not in line
    assert excinfo.value.returncode != 0
    assert elapsed < REFUSED_WITHIN_S, f"refused after {elapsed:.2f} s"
    nothing_starts()


def test_more_connections_than_nginx_holds_are_refused(tmp_path: Path, nothing_starts: Callable[[], None]) -> None:
    require_binary("nginx")
    with pytest.raises(CommandError, match="--concurrency 3000: behind nginx each connection holds two of its"):
        call_command("servebench", "--concurrency", "3000", "--front", "nginx", stdout=StringIO(), stderr=StringIO())
    nothing_starts()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25
    assert psutil.virtual_memory().available < WORKER_BYTES * 100_000, "the --workers 100000 case needs this"


@pytest.mark.parametrize(
    ("settings_changes", "message"),
    [
        ({"SERVEBENCH": {"NOPE": 1}}, "settings: unknown SERVEBENCH setting(s): NOPE"),
        ({"SERVEBENCH": {"RESULTS_DIR": "/proc/servebench-results"}}, "settings: RESULTS_DIR /proc/servebench-re"),
        ({"SERVEBENCH": {"RESULTS_DIR": "/dev/null/results"}}, "settings: RESULTS_DIR /dev/null/results: Not a dir"),
        ({"SERVEBENCH": {"RESULTS_DIR": 42}}, "settings: expected str, bytes or os.PathLike object, not int"),
        ({"SERVEBENCH": {"OWN_DATABASE": False}, "_argv": ["--database", "postgres"]}, "--database postgres is for"),
    ],
)
def test_settings_servebench_cannot_use_are_one_line(
    settings: object, settings_changes: dict[str, object], message: str, nothing_starts: Callable[[], None]
) -> None:
    argv = list(settings_changes.pop("_argv", []))  # type: ignore[call-overload]
    for name, value in settings_changes.items():
        setattr(settings, name, value)
    with pytest.raises(CommandError) as excinfo:
        call_command("servebench", *argv, stdout=StringIO(), stderr=StringIO())
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value)
    nothing_starts()


def manage(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.bench", **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("argv", "env", "line"),
    [
        (["--workers", ""], {}, "CommandError: --workers must be whole numbers of at least 1, not ''"),
        (
            ["--view-cost"],
            {"DATABASE_URL": "postgres://u:s3cret@db:port/x"},
            "settings.bench: DATABASE_URL cannot be parsed: Port could not be cast to integer value as 'port'",
        ),
        (
            ["--view-cost"],
            {"DATABASE_URL": "mysql://u:s3cret@localhost/x"},
            "settings.bench: DATABASE_URL: only postgres:// and postgresql:// are supported, not 'mysql'",
        ),
        (
            ["--view-cost"],
            {"DATABASE_URL": "postgres://u:s3cret@localhost/x?conn_max_age=soon"},
            "settings.bench: DATABASE_URL cannot be parsed: conn_max_age takes whole seconds or none, not 'soon'",
        ),
    ],
)
def test_manage_py_exits_non_zero_with_one_line(argv: list[str], env: dict[str, str], line: str) -> None:
    done = manage("servebench", *argv, env=env)
    assert done.returncode != 0
    assert done.stderr.splitlines() == [line]
    assert "s3cret" not in done.stderr, "the password of DATABASE_URL is never shown"


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (None, "no_such_settings: the settings cannot be imported (ModuleNotFoundError: No module named"),
        ("import not_installed_package\n", "(ModuleNotFoundError: No module named 'not_installed_package')"),
        ("SECRET_KEY = (\n", "the settings cannot be imported (SyntaxError: "),
        ("raise RuntimeError('no DEBUG in this environment')\n", "(RuntimeError: no DEBUG in this environment)"),
    ],
)
def test_manage_py_says_a_settings_import_error_in_one_line(tmp_path: Path, source: str | None, line: str) -> None:
    if source is not None:
        (tmp_path / "broken_settings.py").write_text(source)
    module = "no_such_settings" if source is None else "broken_settings"
    done = manage("servebench", "--view-cost", env={"DJANGO_SETTINGS_MODULE": module, "PYTHONPATH": str(tmp_path)})
    assert done.returncode != 0
    [said] = done.stderr.splitlines()
    assert said.startswith(f"{module}: the settings cannot be imported (") and line in said
