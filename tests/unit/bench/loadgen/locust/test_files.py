"""What servebench writes for locust and reads of the user's: the users file sends what the other generators
send, a locustfile is read only from the path given (never through a link), and without locust the one line
names the extra."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from pathlib import Path

import pytest

from probes.bench.loadgen.hosts import ClientHost, Remote
from probes.bench.loadgen.locust import setup
from probes.bench.loadgen.locust.driver import locust_files, placement
from probes.bench.loadgen.locust.hosts import WORKER_MODULE, bundle, locust_command, worker_argv
from probes.bench.loadgen.locust.setup import LocustSetup, read_locustfile
from probes.bench.loadgen.locust.userfile import users_source
from probes.bench.loadgen.locust.worker import write_bundle
from probes.bench.loadgen.model import LoadgenUnavailable, LoadSpec, check_supported
from probes.bench.loadgen.requests import Request


def _table(source: str) -> list[tuple[str, str, bytes, dict[str, str], str]]:
    module = ast.parse(source)
    assign = next(n for n in module.body if isinstance(n, ast.Assign) and n.targets[0].id == "REQUESTS")  # type: ignore[attr-defined]
    return ast.literal_eval(assign.value)  # type: ignore[no-any-return]


def test_the_users_file_sends_the_method_body_and_headers_of_the_mix() -> None:
    spec = LoadSpec(
        path="/a/",
        port=8000,
        host_header="bench.local",
        headers=(("Cookie", "sessionid=abc"),),
        requests=(Request("/a/", weight=2), Request("/w/", method="POST", body=b"x=1", weight=1)),
    )
    source = users_source(spec, workers=2)
    compile(source, "servebench_users.py", "exec")
    table = _table(source)
    assert [(method, path) for method, path, *_ in table] == [("GET", "/a/"), ("POST", "/w/"), ("GET", "/a/")]
    post = table[1]
    assert post[2] == b"x=1" and post[4] == "POST /w/"
    assert post[3] == {
        "Host": "bench.local",
        "Cookie": "sessionid=abc",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert "class ServebenchUser(FastHttpUser)" in source and "OpenLoopUser)" not in source


def test_with_a_rate_each_worker_holds_its_share_in_the_open_loop() -> None:
    spec = LoadSpec(path="/", port=8000, rate=500.0, concurrency=32, keepalive=False)
    source = users_source(spec, workers=2)
    assert "class ServebenchRate(OpenLoopUser)" in source and "rate = 250.0" in source
    assert "concurrency = 32" in source and _table(source)[0][3]["Connection"] == "close"


def test_the_files_are_private_and_the_users_file_is_the_users_own(tmp_path: Path) -> None:
    spec = LoadSpec(path="/", port=8000)
    own = LocustSetup(locustfile="/somewhere/flows.py", locustfile_text="# the user's\n")
    argument = locust_files(tmp_path, spec, own, 1)
    plugin, users = (Path(p) for p in argument.split(","))
    assert plugin.name == "servebench_plugin.py" and users.name == "flows.py"
    assert users.read_text() == "# the user's\n"
    assert {os.stat(p).st_mode & 0o777 for p in (plugin, users)} == {0o600}


def test_a_locustfile_is_read_only_from_the_path_given(tmp_path: Path) -> None:
    real = tmp_path / "flows.py"
    real.write_text("from locust import HttpUser\n")
    assert read_locustfile(str(real)) == "from locust import HttpUser\n"
    link = tmp_path / "link.py"
    link.symlink_to(real)
    with pytest.raises(ValueError, match="symbolic link"):
        read_locustfile(str(link))
    with pytest.raises(ValueError, match="regular file"):
        read_locustfile(str(tmp_path))
    (tmp_path / "bad.py").write_text("def (:\n")
    with pytest.raises(ValueError, match="not Python source"):
        read_locustfile(str(tmp_path / "bad.py"))


def test_without_locust_one_line_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(setup.importlib.util, "find_spec", lambda name: None if name == "locust" else real(name))
    with pytest.raises(LoadgenUnavailable, match=r"pip install 'django-servebench\[locust\]'"):
        check_supported(LoadSpec(path="/", port=8000), "locust")


def test_the_master_listens_on_loopback_or_on_the_address_the_workers_route_to() -> None:
    spec = LoadSpec(path="/", port=8000)
    local = placement(spec, LocustSetup(workers=2), None)
    assert local.bind == "127.0.0.1" and local.workers == (None, None)
    assert "share the server's cores" in local.describe()
    remote = Remote((ClientHost("netns", "ns1"),), "198.18.0.1", ("198.18.0.2",))
    there = placement(spec, LocustSetup(workers=2), remote)
    assert there.bind == there.target == "198.18.0.1" and there.workers == (remote.clients[0],) * 2


def test_a_worker_over_ssh_gets_its_files_on_stdin_and_ends_under_timeout_there(tmp_path: Path) -> None:
    spec = LoadSpec(path="/", port=8000, headers=(("Cookie", "sessionid=secret"),))
    own = LocustSetup(locustfile="/x/flows.py", locustfile_text="# flows\n")
    files = locust_files(tmp_path, spec, own, 1)
    client = ClientHost("ssh", "bob@client", python=("/venv/bin/python",))
    argv = worker_argv(client, locust_command(files), ("198.18.0.1", 5557), 90)
    assert argv[argv.index("--") + 2 :][:4] == ["timeout", "-k", "2", "90"]
    assert argv[-7:] == [
        "/venv/bin/python",
        "-m",
        WORKER_MODULE,
        "--master-host",
        "198.18.0.1",
        "--master-port",
        "5557",
    ]
    assert not any("secret" in part for part in argv)
    sent = json.loads(bundle(files, 1.0))["files"]
    assert set(sent) == {"servebench_plugin.py", "flows.py", "headers.json"} and "secret" in sent["headers.json"]


def test_the_worker_writes_only_plain_file_names_0600(tmp_path: Path) -> None:
    (written,) = write_bundle(tmp_path, {"flows.py": "X = 1\n"})
    assert written.read_text() == "X = 1\n" and os.stat(written).st_mode & 0o777 == 0o600
    for name in ("../escape.py", "/etc/x.py", "a/b.py", ".hidden.py"):
        with pytest.raises(ValueError, match="not a plain file name"):
            write_bundle(tmp_path, {name: ""})
    with pytest.raises(FileExistsError):
        write_bundle(tmp_path, {"flows.py": "again"})
