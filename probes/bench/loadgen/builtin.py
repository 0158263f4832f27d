"""The built-in client: raw non-blocking sockets on epoll, pre-encoded requests, httptools.

Measured against wrk on this kind of machine (see benchmarks/loadgen_vs_wrk.py): a
hand-written epoll loop with llhttp (via httptools) doing the parsing costs the least
CPU per request of the Python designs tried; asyncio and uvloop add a protocol and
transport layer per event that a 2-core box pays for twice (client and server share it).
"""

from __future__ import annotations

import gc
import re
import resource
import select
import socket
import time
from _socket import socket as _raw_socket  # the C type: no Python-level __init__/close per connection
from array import array

import httptools

from .model import LoadResult, LoadSpec, latency_histogram, latency_summary_ms, nonzero, summary_of
from .requests import RequestFigures, turns
from .slot import Slot, address_of

_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT
_STREAM_NONBLOCK = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
_RECV_BYTES = 65536
_CONNECT_RETRY_NS = 10_000_000  # a refused connect is retried after 10 ms, not in a hot spin
_HEAD_KEEP_BYTES = 16384  # enough of a response's start to read its headers on the cold paths
_LOCATION = re.compile(rb"\r\nlocation:[ \t]*([^\r\n]*)", re.IGNORECASE)
_FRAMED = re.compile(rb"\r\n(content-length|transfer-encoding):", re.IGNORECASE)


def _cpu_s() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def run_builtin(spec: LoadSpec) -> LoadResult:
    """Run the closed (or constant-rate) loop in this process and return what it measured."""
    # One long function on purpose: this is the hot loop. Its helpers are closures and its state
    # is locals, which the loop reads at the cost of a fast local lookup per event; split into
    # methods or smaller functions, every event would pay attribute lookups and calls.
    encoded = spec.encoded()
    request = encoded[0]
    # A mix (--urls): each request in turn from a table that follows the weights; each slot remembers
    # which one it sent, so its response is counted for it.
    mixed = len(encoded) > 1
    order = turns(spec.mix) if mixed else [0]
    turn = 0
    family, address = address_of(spec)
    rate_interval_ns = int(1e9 / spec.rate) if spec.rate else 0
    timeout_ns = int(spec.timeout_s * 1e9)
    check_every_ns = min(100_000_000, timeout_ns // 4)
    max_requests = spec.max_requests

    latencies = array("q", bytes(8 * max_requests))
    sent_of = [0] * len(encoded)
    which = array("H", bytes(2 * max_requests)) if mixed else array("H")
    status_of: list[dict[int, int]] = [{} for _ in encoded]
    status_counts = [0] * 1000
    errors = dict.fromkeys(("connect", "reset", "timeout", "malformed"), 0)
    redirect_location: list[bytes] = []
    epoll = select.epoll()
    conns: dict[int, Slot] = {}
    idle: list[Slot] = []  # rate mode: connections waiting for their next slot
    retry: list[tuple[int, Slot]] = []  # connections waiting out a refused connect
    clock = time.perf_counter_ns

    def choose(c: Slot) -> bytes:
        """The mix's next request, remembered on c."""
        nonlocal turn
        c.index = order[turn % len(order)]
        turn += 1
        if measuring:
            sent_of[c.index] += 1
        return encoded[c.index]

    def send_on(c: Slot, payload: bytes, now: int) -> None:
        """Send on c's open socket; what a full socket buffer leaves (a large body) goes out on EPOLLOUT."""
        try:
            written = c.sock.send(payload)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            fail(c, "reset", now)
            return
        if written < len(payload):
            c.pending, c.sent = payload[written:], False
            epoll.modify(c.fd, _EPOLLIN | _EPOLLOUT)

    def dispatch(c: Slot, start_ns: int) -> None:
        """Send the next request on c (reusing its socket if still open); latency from start_ns."""
        if c.sock is None:
            open_and_send(c, start_ns)
            return
        c.done, c.head, c.start_ns, c.busy = False, None, start_ns, True
        send_on(c, choose(c) if mixed else request, clock())

    def open_and_send(c: Slot, start_ns: int) -> None:
        """Connect a fresh socket and send."""
        # SOCK_NONBLOCK saves the ioctl of setblocking(False). No TCP_NODELAY: one small
        # write per round trip never waits on Nagle (the response acked the last one).
        sock = _raw_socket(family, _STREAM_NONBLOCK)
        c.sock, c.fd, c.recv = sock, sock.fileno(), sock.recv
        c.parser = httptools.HttpResponseParser(c)
        c.feed = c.parser.feed_data
        c.done, c.head, c.start_ns, c.busy = False, None, start_ns, True
        conns[c.fd] = c
        sock.connect_ex(address)
        payload = choose(c) if mixed else request
        # On loopback the handshake is usually over when connect returns EINPROGRESS,
        # so try the send at once and fall back to waiting for EPOLLOUT.
        try:
            written = sock.send(payload)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            fail(c, "connect", clock())
            return
        c.sent = written == len(payload)
        c.pending = b"" if c.sent else payload[written:]
        epoll.register(c.fd, _EPOLLIN if c.sent else _EPOLLIN | _EPOLLOUT)

    def close(c: Slot) -> None:
        if c.sock is not None:
            del conns[c.fd]
            c.sock.close()  # also removes it from the epoll set
            c.sock = c.parser = c.feed = c.recv = None
        c.busy = False

    def fail(c: Slot, kind: str, now: int) -> None:
        if measuring:
            errors[kind] += 1
        close(c)
        if kind == "connect":
            retry.append((now + _CONNECT_RETRY_NS, c))
        else:
            next_request(c, now)

    def next_request(c: Slot, now: int) -> None:
        if rate_interval_ns:
            idle.append(c)
        else:
            open_and_send(c, now)

    def ends_at_eof(c: Slot) -> bool:
        """A response ended by EOF is complete only if it declared no length (close-delimited)."""
        head = c.head or b""
        if c.done or b"\r\n\r\n" not in head:
            return False
        return _FRAMED.search(head, 0, head.index(b"\r\n\r\n") + 2) is None

    measuring = spec.warmup_s <= 0
    n = 0
    bytes_total = 0
    bytes_at_window = 0
    start = clock()
    window_start = start + int(spec.warmup_s * 1e9)
    window_end = window_start + int(spec.duration_s * 1e9)
    switch_at = window_end if measuring else window_start
    cpu_at_window = _cpu_s()
    next_check = start + check_every_ns
    next_due = start

    all_conns = [Slot() for _ in range(spec.concurrency)]
    if rate_interval_ns:
        idle.extend(all_conns)
    else:
        for c in all_conns:
            open_and_send(c, clock())

    now = clock()
    # The loop allocates only short-lived objects; a cyclic GC pass would be pure jitter.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:
            if now >= switch_at:
                if measuring:
                    break
                measuring = True
                window_start = now
                switch_at = window_end = now + int(spec.duration_s * 1e9)
                bytes_at_window = bytes_total
                cpu_at_window = _cpu_s()
                for kind in errors:
                    errors[kind] = 0
            if now >= next_check:
                next_check = now + check_every_ns
                for c in [c for c in conns.values() if c.busy and now - c.start_ns > timeout_ns]:
                    fail(c, "timeout", now)
                if retry:
                    due = [item for item in retry if item[0] <= now]
                    retry[:] = [item for item in retry if item[0] > now]
                    for _, c in due:
                        next_request(c, now)
            if rate_interval_ns:
                # Coordinated-omission correction: latency counts from the slot's intended
                # send time, so a slow server is charged for the requests it delayed.
                while idle and next_due <= now:
                    dispatch(idle.pop(), next_due)
                    next_due += rate_interval_ns
                wake = min(switch_at, next_check, next_due if idle else switch_at)
            else:
                wake = min(switch_at, next_check)
            for fd, event in epoll.poll(max(0.0, (wake - now) / 1e9) + 0.0001):
                found = conns.get(fd)
                if found is None:
                    continue  # closed earlier in this batch
                c = found
                if not c.sent:
                    if event & _EPOLLOUT:
                        try:
                            written = c.sock.send(c.pending)
                        except (BlockingIOError, InterruptedError):
                            continue
                        except OSError:
                            fail(c, "connect", clock())
                            continue
                        c.pending = c.pending[written:]
                        if c.pending:
                            continue
                        c.sent = True
                        epoll.modify(fd, _EPOLLIN)
                    elif not event & _EPOLLIN:
                        continue
                try:
                    data = c.recv(_RECV_BYTES)
                except (BlockingIOError, InterruptedError):
                    continue  # a stale event for a reused fd number
                except ConnectionRefusedError:
                    fail(c, "connect", clock())
                    continue
                except OSError:
                    fail(c, "reset", clock())
                    continue
                if not c.busy:
                    close(c)  # an idle keep-alive connection the server closed: not an error
                    continue
                if data:
                    bytes_total += len(data)
                    if c.head is None:
                        c.head = data
                    elif len(c.head) < _HEAD_KEEP_BYTES:
                        c.head += data
                    try:
                        c.feed(data)
                    except httptools.HttpParserError:
                        fail(c, "malformed", clock())
                        continue
                    if not c.done:
                        continue
                elif not ends_at_eof(c):
                    fail(c, "reset" if c.sent else "connect", clock())
                    continue
                else:
                    c.keep = False
                now = clock()
                status = c.parser.get_status_code()
                if measuring and n < max_requests:
                    latencies[n] = now - c.start_ns
                    if mixed:
                        which[n] = c.index
                        status_of[c.index][status] = status_of[c.index].get(status, 0) + 1
                    n += 1
                    status_counts[status] += 1
                    if 300 <= status < 400 and not redirect_location:
                        location = _LOCATION.search(c.head or b"")
                        redirect_location.append(location.group(1) if location else b"")
                    if n >= max_requests:
                        switch_at = now
                if c.keep and not rate_interval_ns:
                    c.done, c.head, c.start_ns = False, None, now
                    send_on(c, choose(c) if mixed else request, now)
                elif c.keep:
                    c.busy = False
                    idle.append(c)
                else:
                    del conns[fd]
                    c.sock.close()
                    if rate_interval_ns:
                        c.sock = c.parser = c.feed = c.recv = None
                        c.busy = False
                        idle.append(c)
                    else:
                        open_and_send(c, now)
            now = clock()
    finally:
        cpu_end = _cpu_s()
        if gc_was_enabled:
            gc.enable()
        for c in list(conns.values()):
            close(c)
        epoll.close()

    window_s = (now - window_start) / 1e9
    counts = {code: k for code, k in enumerate(status_counts) if k}
    errors["non2xx"] = sum(k for code, k in counts.items() if code >= 400)
    errors["redirect"] = sum(k for code, k in counts.items() if 300 <= code < 400)
    histogram = latency_histogram(latencies[:n])
    return LoadResult(
        generator="builtin",
        duration_s=round(window_s, 6),
        requests=n,
        ok=sum(k for code, k in counts.items() if 200 <= code < 300),
        errors=nonzero(errors),
        status_counts=counts,
        redirect_location=redirect_location[0].decode("latin-1") if redirect_location else None,
        latency_ms=summary_of(histogram),
        histogram=histogram.encode().decode("ascii") if histogram.get_total_count() else None,
        bytes_received=bytes_total - bytes_at_window,
        cpu_user_s=round(cpu_end[0] - cpu_at_window[0], 6),
        cpu_system_s=round(cpu_end[1] - cpu_at_window[1], 6),
        per_request=_per_request(spec, sent_of, which, latencies[:n], status_of) if mixed else (),
    )


def _per_request(
    spec: LoadSpec, sent: list[int], which: array[int], latencies: array[int], status_of: list[dict[int, int]]
) -> tuple[RequestFigures, ...]:
    """Each request of a mix: sent and answered in the window, by status, and its own latency."""
    own: list[list[int]] = [[] for _ in spec.mix]
    for index, latency in zip(which, latencies, strict=False):
        own[index].append(latency)
    return tuple(
        RequestFigures(
            label=r.label,
            weight=r.weight,
            sent=sent[i],
            responses=len(own[i]),
            status_counts=dict(sorted(status_of[i].items())),
            latency_ms=latency_summary_ms(own[i]),
        )
        for i, r in enumerate(spec.mix)
    )
