"""Load generators against a real tiny HTTP server on 127.0.0.1:0 (no Django)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from probes.bench.loadgen import (
    LoadgenUnavailable,
    LoadResult,
    LoadSpec,
    latency_summary_ms,
    run_in_process,
    run_load,
    start_load,
)

BODY = b"hello, servebench\n"
RECORDED: list[bytes] = []  # request heads sent to /record


def _response(path: str) -> tuple[bytes, bool]:
    """The raw response for path and whether the connection must close after it."""
    if path.startswith("/chunked"):
        half = len(BODY) // 2
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            half,
            BODY[:half],
            len(BODY) - half,
            BODY[half:],
        )
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks, False
    if path.startswith("/eof"):
        # HTTP/1.0 style: no length at all, the body ends when the server closes.
        return b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY, True
    if path.startswith("/error"):
        return b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom", False
    if path.startswith("/redirect"):
        return b"HTTP/1.1 302 Found\r\nLocation: /target/\r\nContent-Length: 0\r\n\r\n", False
    if path.startswith("/garbage"):
        return b"HTTX/9 what\r\n\r\n", True
    if path.startswith("/hangup"):
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", True
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    return head + BODY, False


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                try:
                    data = self.request.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            if path.startswith("/record"):
                RECORDED.append(head)
            response, must_close = _response(path)
            lower = head.lower()
            close = must_close or b"connection: close" in lower or b"http/1.0" in lower.split(b"\r\n")[0]
            if close and b"Content-Length" in response and b"Connection" not in response:
                response = response.replace(b"\r\n", b"\r\nConnection: close\r\n", 1)
            try:
                self.request.sendall(response)
            except OSError:
                return
            if close:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _spec(port: int, path: str = "/", **kw: object) -> LoadSpec:
    return LoadSpec(path=path, port=port, **{"concurrency": 4, "duration_s": 0.5, "warmup_s": 0.1, **kw})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("path", ["/", "/chunked", "/eof"])
def test_each_framing_counts_as_ok(port: int, path: str) -> None:
    result = run_in_process(_spec(port, path))
    assert result.requests > 50
    assert result.ok == result.requests
    assert result.errors == {}
    assert result.status_counts == {200: result.requests}
    assert result.bytes_received > result.requests * len(BODY)
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p99"] <= result.latency_ms["max"]


def test_non2xx_counted(port: int) -> None:
    result = run_in_process(_spec(port, "/error"))
    assert result.requests > 50 and result.ok == 0
    assert result.errors == {"non2xx": result.requests}
    assert result.status_counts == {500: result.requests}


def test_redirect_counted_with_location(port: int) -> None:
    result = run_in_process(_spec(port, "/redirect"))
    assert result.errors == {"redirect": result.requests} and result.ok == 0
    assert result.redirect_location == "/target/"


def test_malformed_and_reset(port: int) -> None:
    assert set(run_in_process(_spec(port, "/garbage")).errors) == {"malformed"}
    assert set(run_in_process(_spec(port, "/hangup")).errors) == {"reset"}


def test_connect_errors_when_nothing_listens() -> None:
    result = run_in_process(_spec(_free_port(), duration_s=0.3))
    assert result.requests == 0 and result.ok == 0
    assert set(result.errors) == {"connect"} and result.errors["connect"] > 0


def test_keepalive_off_opens_a_connection_per_request(port: int) -> None:
    result = run_in_process(_spec(port, "/", keepalive=False))
    assert result.requests > 50 and result.ok == result.requests and result.errors == {}


def test_max_requests_bound(port: int) -> None:
    result = run_in_process(_spec(port, "/", max_requests=37, duration_s=5.0))
    assert result.requests == 37
    assert result.duration_s < 2.0


def test_rate_mode_holds_its_rate(port: int) -> None:
    result = run_in_process(_spec(port, "/", rate=200.0, duration_s=1.0))
    assert 170 <= result.requests_per_s <= 230
    assert result.errors == {}


def test_timeout_counted() -> None:
    with socket.socket() as listener:  # accepts (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        spec = _spec(listener.getsockname()[1], timeout_s=0.1, duration_s=0.5, warmup_s=0.0)
        result = run_in_process(spec)
    assert result.requests == 0 and result.errors.get("timeout", 0) >= 4


def test_percentiles_from_a_known_list() -> None:
    summary = latency_summary_ms([ms * 1_000_000 for ms in range(1, 101)])
    assert summary["p50"] == pytest.approx(50, rel=0.001)
    assert summary["p90"] == pytest.approx(90, rel=0.001)
    assert summary["p99"] == pytest.approx(99, rel=0.001)
    assert summary["max"] == pytest.approx(100, rel=0.001)
    assert summary["mean"] == pytest.approx(50.5, rel=0.001)


def test_result_round_trip() -> None:
    result = LoadResult(
        generator="builtin",
        duration_s=1.5,
        requests=10,
        ok=8,
        errors={"non2xx": 2},
        status_counts={200: 8, 503: 2},
        redirect_location=None,
        latency_ms={"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0, "mean": 1.5},
        bytes_received=1234,
        cpu_user_s=0.01,
        cpu_system_s=0.02,
        notes=("x",),
    )
    assert LoadResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert result.ok_per_s == pytest.approx(8 / 1.5)
    assert result.to_dict()["format"] == "servebench/1"


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="host"):
        LoadSpec(path="/", host="example.com", port=80)
    with pytest.raises(ValueError, match="start with"):
        LoadSpec(path="x", port=80)
    with pytest.raises(ValueError, match="exactly one"):
        LoadSpec(path="/")
    spec = LoadSpec(path="/a", port=80, headers=(("X-A", "1"),), keepalive=False)
    assert spec.request_bytes() == (b"GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\nConnection: close\r\n\r\n")
    assert LoadSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_child_process_returns_result_and_cpu(port: int) -> None:
    load = start_load(_spec(port, "/"))
    assert load.pid > 0
    result = load.wait()
    assert result.generator == "builtin" and result.ok > 50
    assert result.cpu_user_s is not None and result.cpu_user_s + result.cpu_system_s > 0


def test_child_can_be_killed(port: int) -> None:
    load = start_load(_spec(port, "/", duration_s=30.0))
    time.sleep(0.2)
    load.kill()
    assert load.poll() is not None
    load.kill()  # idempotent


def _need(binary: str) -> None:
    if shutil.which(binary) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{binary} is required under CI=true")
        pytest.skip(f"{binary} not installed")


@pytest.mark.parametrize("generator", ["wrk", "ab"])
def test_external_generators(port: int, generator: str) -> None:
    _need(generator)
    result = run_load(_spec(port, "/", duration_s=1.0, warmup_s=0.0), generator=generator)
    assert result.generator == generator
    assert result.requests > 50 and result.ok == result.requests and result.errors == {}
    assert result.latency_ms["max"] >= result.latency_ms["p50"] >= 0
    redirected = run_load(_spec(port, "/redirect", duration_s=1.0, warmup_s=0.0), generator=generator)
    assert redirected.ok == 0 and redirected.errors.get("redirect", 0) > 0
    assert redirected.redirect_location == "/target/"
    failing = run_load(_spec(port, "/error", duration_s=1.0, warmup_s=0.0), generator=generator)
    assert failing.ok == 0 and failing.errors.get("non2xx", 0) > 0


def test_wrk_lasts_a_fraction_of_a_second_where_its_d_takes_whole_ones(port: int) -> None:
    # wrk -d1s, ended by SIGINT at 0.4 s: wrk reports the run it made (its own clock), not a rounded second.
    _need("wrk")
    result = run_load(_spec(port, "/", duration_s=0.4, warmup_s=0.0), generator="wrk")
    assert 0.35 <= result.duration_s <= 0.6
    assert result.requests > 20 and result.ok == result.requests
    assert not [note for note in result.notes if "whole seconds" in note]


@pytest.mark.parametrize("generator", ["wrk", "ab"])
def test_external_generators_refuse_what_they_cannot_do(port: int, generator: str) -> None:
    with pytest.raises(ValueError, match="unix socket"):
        start_load(LoadSpec(path="/", unix_socket="/tmp/x.sock"), generator=generator)
    with pytest.raises(ValueError, match="constant-rate"):
        start_load(_spec(port, rate=10.0), generator=generator)


def test_missing_binary_is_a_clear_error(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LoadgenUnavailable, match="wrk not found on PATH"):
        start_load(_spec(port), generator="wrk")


def _command_lines() -> list[tuple[int, bytes]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found.append((int(entry), f.read()))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("generator", ["builtin", "wrk"])
def test_a_cookie_never_reaches_a_command_line(port: int, generator: str) -> None:
    if generator != "builtin":
        _need(generator)
    secret = "sbsecret" + os.urandom(12).hex()
    RECORDED.clear()
    spec = _spec(port, "/record", duration_s=1.5, warmup_s=0.0, headers=(("Cookie", f"sessionid={secret}"),))
    scans = wrk_seen = 0
    with start_load(spec, generator=generator) as load:
        while load.poll() is None:
            lines = _command_lines()
            scans += 1
            assert not [pid for pid, line in lines if secret.encode() in line], "the cookie is in a command line"
            wrk_seen += any(line.startswith(b"wrk\0") for _, line in lines)
        result = load.wait()
    assert scans > 10 and result.ok > 0
    if generator == "wrk":
        assert wrk_seen, "wrk never seen running: the scan proved nothing"
    # ... and the server got it, with the Host header, as every generator sends them.
    assert RECORDED and all(f"Cookie: sessionid={secret}".encode() in head for head in RECORDED)
    assert all(b"Host: 127.0.0.1" in head for head in RECORDED)


def test_ab_refuses_a_cookie_it_would_show_in_its_command_line(port: int) -> None:
    spec = _spec(port, headers=(("Cookie", "sessionid=x"),))
    with pytest.raises(ValueError, match="ab takes headers only on its command line"):
        start_load(spec, generator="ab")


def test_wrk_headers_are_escaped_for_lua() -> None:
    from probes.bench.loadgen.wrkscript import _lua_string

    assert _lua_string('a"b\\c]]é') == '"a\\034b\\092c\\093\\093\\233"'
