"""Every probe view answers as documented, and costs what it says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from pymemcache.client.base import Client as MemcacheClient

from probes.bench.servers.memcached import Memcached

BODIES = {
    "trivial": b"Hello, World!\n",
    "session-db": b"new session saved\n",
    "session-signed-cookies": b"new session saved\n",
    "sleep": b"slept 20 ms\n",
    "cpu": b"spun 10 ms of CPU\n",
    "lock": b"held the lock 10 ms\n",
    "status": b"status 200\n",
}
QUERIES = {"sleep": "?ms=20", "cpu": "?ms=10", "lock": "?ms=10", "status": "?code=200"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BODIES))
def test_probe_answers_200_with_its_body(client: Client, name: str) -> None:
    response = client.get(f"/probes/{name}/{QUERIES.get(name, '')}")
    assert response.status_code == 200
    assert response.content == BODIES[name]


@pytest.mark.django_db
def test_session_db_writes_one_new_row_per_request(client: Client) -> None:
    keys = set()
    for expected in range(1, 4):
        response = client.get("/probes/session-db/")
        keys.add(response.cookies["sessionid"].value)
        assert Session.objects.count() == expected
    assert Session.objects.filter(session_key__in=keys).count() == 3


def test_session_cache_stores_the_session_in_real_memcached(client: Client, memcached_sessions: Memcached) -> None:
    response = client.get("/probes/session-cache/")
    assert response.status_code == 200
    key = response.cookies["sessionid"].value
    raw = MemcacheClient((memcached_sessions.host, memcached_sessions.port))
    try:
        # Django's cache key: KEY_PREFIX:VERSION:key.
        assert raw.get(f":1:django.contrib.sessions.cache{key}") is not None
    finally:
        raw.close()


@pytest.mark.django_db
def test_session_cached_db_writes_both(client: Client, memcached_sessions: Memcached) -> None:
    response = client.get("/probes/session-cached-db/")
    key = response.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()
    raw = MemcacheClient((memcached_sessions.host, memcached_sessions.port))
    try:
        assert raw.get(f":1:django.contrib.sessions.cached_db{key}") is not None
    finally:
        raw.close()


def test_signed_cookie_session_carries_its_data_in_the_cookie(client: Client) -> None:
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    response = client.get("/probes/session-signed-cookies/", HTTP_USER_AGENT="probe-test")
    session = SessionStore(session_key=response.cookies["sessionid"].value)
    assert session["user_agent"] == "probe-test"


@pytest.mark.parametrize("n", [1, 300, 1000])
def test_template_probes_return_identical_bytes(client: Client, n: int) -> None:
    django_page = client.get(f"/probes/template-django/?n={n}")
    jinja_page = client.get(f"/probes/template-jinja2/?n={n}")
    assert django_page.status_code == jinja_page.status_code == 200
    assert django_page.content == jinja_page.content
    assert django_page.content.count(b"<li>") == n


@pytest.mark.parametrize(
    "url",
    [
        "/probes/sleep/?ms=-1",
        "/probes/sleep/?ms=abc",
        "/probes/cpu/?ms=999999",
        "/probes/lock/?ms=1.5",
        "/probes/template-django/?n=0",
        "/probes/template-jinja2/?n=10001",
    ],
)
def test_bad_parameters_get_400_with_a_message(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert b"must be an integer from" in response.content


def test_status_probe_answers_errors_and_redirects(client: Client) -> None:
    assert client.get("/probes/status/?code=500").status_code == 500
    redirect = client.get("/probes/status/?code=302")
    assert (redirect.status_code, redirect["Location"]) == (302, "/probes/status/?code=200")
    assert client.get("/probes/status/?code=700").status_code == 400


def test_sleep_costs_wall_time_not_cpu(client: Client) -> None:
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    client.get("/probes/sleep/?ms=100")
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    assert wall >= 0.100
    assert cpu < 0.050


def test_cpu_costs_its_cpu_time(client: Client) -> None:
    cpu0 = time.thread_time()
    client.get("/probes/cpu/?ms=50")
    assert time.thread_time() - cpu0 >= 0.050


LOCK_CLIENT = """
import os, sys, time
from pathlib import Path
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1")
client.get("/probes/trivial/")  # warm: imports and URL resolution
go = Path(sys.argv[1]) / "go"
(Path(sys.argv[1]) / f"ready-{os.getpid()}").touch()
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
start = time.time()
status = client.get("/probes/lock/?ms=300").status_code
print(status, start, time.time())
"""


def test_lock_serializes_two_processes(tmp_path: Path) -> None:
    env = {"SERVEBENCH_RUN_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "settings.test"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOCK_CLIENT, str(tmp_path)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "go").touch()
        results = [proc.communicate(timeout=30)[0].split() for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [int(r[0]) for r in results] == [200, 200]
    (start_a, end_a), (start_b, end_b) = sorted((float(r[1]), float(r[2])) for r in results)
    assert start_b < end_a, "the two requests were not in flight at the same time"
    # Both held the lock for 300 ms, one after the other.
    assert max(end_a, end_b) - start_a >= 0.600
