"""The open-file limit every process servebench starts inherits, checked before anything starts (issue 21, item 5).

Found: --concurrency 600 under ulimit -n 1024 passed the check (it counted the load
generator's descriptors only) and failed at 1.7 % with nginx's "accept4() failed (24: Too
many open files)": behind nginx each connection holds two of its descriptors.
"""

from __future__ import annotations

import resource

import pytest

from probes.bench.loadgen.plan import LoadPlan
from probes.bench.servers import argv
from probes.bench.servers.kinds import ServerConfig
from probes.cli import inputs


@pytest.fixture
def ulimit_1024(monkeypatch: pytest.MonkeyPatch) -> None:
    real = resource.getrlimit

    def limits(which: int) -> tuple[int, int]:
        return (1024, 4096) if which == resource.RLIMIT_NOFILE else real(which)

    monkeypatch.setattr(inputs.resource, "getrlimit", limits)


def _check(front: str, concurrency: int) -> None:
    configs = [ServerConfig("gunicorn", 1, front=front)]
    inputs.check_machine(configs, LoadPlan(path="/", host_header="localhost", concurrency=concurrency))


def test_nginx_needs_two_open_files_per_connection(ulimit_1024: None) -> None:
    with pytest.raises(inputs.Refused) as excinfo:
        _check("nginx", 600)
    assert str(excinfo.value) == (
        "--concurrency 600: behind nginx each connection holds 2 of nginx's open files, at least 1216 with its own,"
        " and the limit is 1024 (ulimit -n, which every process servebench starts inherits; the hard limit is 4096);"
        " or --front direct"
    )


def test_the_same_connections_direct_fit(ulimit_1024: None) -> None:
    _check("direct", 600)


def test_worker_rlimit_nofile_is_nginxs_limit_when_set(ulimit_1024: None, monkeypatch: pytest.MonkeyPatch) -> None:
    template = argv.nginx_template("common.conf.in")
    monkeypatch.setattr(argv, "nginx_template", lambda name: "worker_rlimit_nofile 4096;\n" + template)
    assert argv.nginx_open_files_limit(1024) == 4096
    _check("nginx", 600)
    monkeypatch.setattr(argv, "nginx_template", lambda name: "worker_rlimit_nofile 1100;\n" + template)
    with pytest.raises(inputs.Refused, match=r"at least 1216 with its own, and its worker_rlimit_nofile is 1100;"):
        _check("nginx", 600)
