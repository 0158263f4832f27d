"""Requests beyond GET: a method and a body through the built-in generator and wrk (a real server counts what it
received), a weighted mix whose server-side counts follow the weights, the Lua that sends them, ab's body."""

from __future__ import annotations

import os
import socketserver
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from probes.bench.loadgen import LoadSpec, run_in_process
from probes.bench.loadgen.requests import Request, turns
from probes.bench.loadgen.wrkscript import wrk_script
from tests.conftest import require_binary

RECEIVED: list[tuple[str, str, bytes, str]] = []  # method, path, body, content type, as the server read them
_LOCK = threading.Lock()


class _Handler(socketserver.BaseRequestHandler):
    """HTTP/1.1 keep-alive, reading each body by its Content-Length: what a view would receive."""

    def handle(self) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = self.request.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(fields.get("content-length", "0"))
            while len(buffer) < length:
                data = self.request.recv(65536)
                if not data:
                    return
                buffer += data
            body, buffer = buffer[:length], buffer[length:]
            with _LOCK:
                RECEIVED.append((method, path, body, fields.get("content-type", "")))
            if lines[0].endswith("HTTP/1.0"):  # ab: one request per connection
                self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                return
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


@pytest.fixture
def port() -> Iterator[int]:
    RECEIVED.clear()
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


BODY = b'{"ping": 1, "note": "caf\xc3\xa9 & \\"quotes\\"\\n"}'


@pytest.mark.parametrize("generator", ["builtin", "wrk", "ab"])
def test_a_post_with_a_body_reaches_the_server_as_sent(port: int, generator: str) -> None:
    if generator != "builtin":
        require_binary(generator)
    post = Request("/ping/", method="POST", body=BODY, content_type="application/json")
    spec = LoadSpec(path="/ping/", port=port, requests=(post,), concurrency=2, duration_s=0.5, warmup_s=0)
    result = run_in_process(spec, generator)
    assert result.ok > 20 and result.errors == {}
    with _LOCK:
        received = list(RECEIVED)
    # Every request the server read is the POST with its body, byte for byte (the preflight of wrk and ab too).
    assert set(received) == {("POST", "/ping/", BODY, "application/json")}
    # What the client counted is what the server received (give or take the preflight and the in-flight).
    assert result.requests <= len(received) <= result.requests + spec.concurrency + 1


def test_a_large_body_goes_out_whole_through_the_builtin_generator(port: int) -> None:
    body = bytes(range(256)) * 4096  # 1 MB: more than a socket buffer takes at once
    post = Request("/upload/", method="PUT", body=body, content_type="application/octet-stream")
    spec = LoadSpec(path="/upload/", port=port, requests=(post,), concurrency=2, duration_s=0.3, warmup_s=0)
    result = run_in_process(spec, "builtin")
    assert result.ok >= 2 and result.errors == {}
    assert {(m, p, b == body) for m, p, b, _ in RECEIVED} == {("PUT", "/upload/", True)}


MIX = (
    Request("/a/", weight=1),
    Request("/b/", method="POST", body=b"x=1", weight=3),
    Request("/c/", method="DELETE", weight=6),
)


@pytest.mark.parametrize("generator", ["builtin", "wrk"])
def test_a_weighted_mix_is_received_in_its_proportions(port: int, generator: str) -> None:
    if generator != "builtin":
        require_binary(generator)
    spec = LoadSpec(path="/a/", port=port, requests=MIX, concurrency=4, duration_s=0.6, warmup_s=0)
    result = run_in_process(spec, generator)
    assert result.requests > 300 and result.errors == {}
    with _LOCK:
        by_path = Counter(path for _, path, _, _ in RECEIVED)
        bodies = {(m, p, b) for m, p, b, _ in RECEIVED}
    assert bodies == {("GET", "/a/", b""), ("POST", "/b/", b"x=1"), ("DELETE", "/c/", b"")}
    total = sum(by_path.values())
    for request in MIX:
        share = by_path[request.path] / total
        assert abs(share - request.weight / 10) < 0.02, (request.path, share)
    # Per URL: the built-in generator counts answers and latency; wrk what it sent.
    figures = {f.label: f for f in result.per_request}
    assert list(figures) == ["GET /a/", "POST /b/", "DELETE /c/"]
    sent = sum(f.sent for f in figures.values())
    assert abs(figures["DELETE /c/"].sent / sent - 0.6) < 0.02
    if generator == "builtin":
        assert sum(f.responses or 0 for f in figures.values()) == result.requests
        assert figures["POST /b/"].status_counts == {200: figures["POST /b/"].responses}
        assert figures["POST /b/"].latency_ms["p50"] > 0
    else:
        assert figures["POST /b/"].responses is None and figures["POST /b/"].latency_ms == {}
        assert any("wrk per URL: requests sent only" in note for note in result.notes)


def test_the_turns_follow_the_weights_in_every_stretch() -> None:
    order = turns(MIX)
    assert Counter(order) == {0: 1, 1: 3, 2: 6}
    # Interleaved, not 6 DELETEs in a row: any 5 turns hold each request at its share, give or take one.
    for start in range(len(order)):
        window = [order[(start + k) % len(order)] for k in range(5)]
        assert abs(window.count(2) - 3) <= 1
    assert turns((Request("/x/", weight=200), Request("/y/", weight=400))) == [1, 0, 1]


def test_the_wrk_script_sends_the_mix_from_a_table_and_keeps_one_request_static() -> None:
    spec = LoadSpec(path="/a/", port=1, requests=MIX, headers=(("Cookie", "sessionid=s3cret"),))
    script = wrk_script(spec)
    assert "local order = {3,2,3,1,3,2,3,3,2,3}" in script  # 1-based, the weights' turn
    assert "request = function()" in script and 'thread:get("sent")' in script
    # The body as decimal escapes: no byte of it can end the Lua string.
    assert "\\120\\061\\049" not in script and "x\\0611" in script
    single = wrk_script(LoadSpec(path="/p/", port=1, requests=(Request("/p/", method="POST", body=b'a"b'),)))
    assert "request = function" not in single  # static: wrk builds the request once
    assert 'wrk.method = "POST"' in single and 'wrk.body = "a\\034b"' in single
    assert 'wrk.headers["Content\\045Type"] = "application\\047x\\045www\\045form\\045urlencoded"' in single
    assert "wrk.method" not in wrk_script(LoadSpec(path="/", port=1))  # a GET as before


def test_ab_refuses_a_mix_and_a_method_it_cannot_send() -> None:
    from probes.bench.loadgen.model import check_supported

    with pytest.raises(ValueError, match="ab sends one request over and over: a --urls mix needs"):
        check_supported(LoadSpec(path="/a/", port=1, requests=MIX), "ab")
    with pytest.raises(ValueError, match="ab sends GET, POST, PUT only, not DELETE"):
        check_supported(LoadSpec(path="/a/", port=1, requests=(Request("/a/", method="DELETE"),)), "ab")


def test_a_spec_with_a_body_survives_the_trip_to_the_child() -> None:
    spec = LoadSpec(path="/a/", port=1, requests=MIX + (Request("/z/", method="POST", body=bytes(range(256))),))
    assert LoadSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("generator", ["builtin", "wrk", "ab"])
def test_a_body_never_reaches_a_command_line(port: int, generator: str) -> None:
    """wrk gets it in its 0600 Lua script, ab in a 0600 file named by -p, the built-in generator through stdin."""
    from probes.bench.loadgen import start_load

    from .test_loadgen import _command_lines

    if generator != "builtin":
        require_binary(generator)
    secret = b"password=sb" + os.urandom(12).hex().encode()
    post = Request("/login/", method="POST", body=secret)
    spec = LoadSpec(path="/login/", port=port, requests=(post,), concurrency=2, duration_s=1.0, warmup_s=0)
    scans = seen = 0
    with start_load(spec, generator=generator) as load:
        while load.poll() is None:
            lines = _command_lines()
            scans += 1
            assert not [pid for pid, line in lines if secret in line], "the body is in a command line"
            seen += any(line.startswith(generator.encode() + b"\0") for _, line in lines)
        result = load.wait()
    assert scans > 10 and result.ok > 0 and (generator == "builtin" or seen)
    assert {body for _, _, body, _ in RECEIVED} == {secret}
