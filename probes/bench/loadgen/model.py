"""What a load run asks for (LoadSpec), whether a generator can run it, and what it measured (LoadResult)."""

from __future__ import annotations

import ipaddress
import math
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

from .requests import Request, RequestFigures

FORMAT = "servebench/1"
GENERATORS = ("builtin", "wrk", "ab", "locust")
ERROR_KINDS = ("connect", "reset", "timeout", "non2xx", "redirect", "malformed")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
PERCENTILE_KEYS = ("p50", "p90", "p99", "max", "mean")
AB_METHODS = ("GET", "POST", "PUT")  # ab's own: a body by -p (POST) or -u (PUT)


class LoadgenError(RuntimeError):
    """The load generator failed to produce a result."""


class LoadgenUnavailable(LoadgenError):
    """The requested generator cannot run here (missing binary, unsupported option)."""


@dataclass(frozen=True)
class LoadSpec:
    """One load run: where to send its requests (a GET of path unless `requests` says otherwise), how many
    at once, for how long."""

    path: str
    host: str = "127.0.0.1"
    port: int | None = None
    unix_socket: str | None = None
    host_header: str = "127.0.0.1"
    headers: tuple[tuple[str, str], ...] = ()
    concurrency: int = 8
    duration_s: float = 5.0
    warmup_s: float = 1.0
    max_requests: int = 1_000_000
    keepalive: bool = True
    rate: float | None = None
    timeout_s: float = 10.0
    # What is sent: one request, or a weighted mix (--urls); empty: a GET of path, as before methods.
    requests: tuple[Request, ...] = ()

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/': {self.path!r}")
        # servebench measures servers on this machine only: loopback, or (a child on a client host,
        # remote.py) an address literal of the server host that servebench checked before it started.
        if self.host not in LOOPBACK_HOSTS and not is_address(self.host):
            raise ValueError(f"host must be one of {', '.join(LOOPBACK_HOSTS)} or an IP address, not {self.host!r}")
        if (self.port is None) == (self.unix_socket is None):
            raise ValueError("give exactly one of port and unix_socket")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"port out of range: {self.port}")
        if self.concurrency < 1 or self.max_requests < 1:
            raise ValueError("concurrency and max_requests must be >= 1")
        if self.duration_s <= 0 or self.warmup_s < 0 or self.timeout_s <= 0:
            raise ValueError("duration_s and timeout_s must be > 0, warmup_s >= 0")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be > 0 requests/s")
        for name, value in self.headers:
            if any(c in name + value for c in "\r\n") or ":" in name:
                raise ValueError(f"invalid header {name!r}")
        object.__setattr__(self, "headers", tuple(tuple(h) for h in self.headers))
        object.__setattr__(self, "requests", tuple(self.requests))

    @property
    def mix(self) -> tuple[Request, ...]:
        """What is sent, always at least one request (a GET of path when none was given)."""
        return self.requests or (Request(self.path),)

    @property
    def first(self) -> Request:
        """The request a preflight sends (the mix's first)."""
        return self.mix[0]

    @property
    def connect_host(self) -> str:
        """The address to connect to ('localhost' pinned to IPv4 so every generator agrees)."""
        return "127.0.0.1" if self.host == "localhost" else self.host

    def request_bytes(self) -> bytes:
        """The (first) request, encoded once; 'Connection: close' when keep-alive is off."""
        return self.encoded()[0]

    def encoded(self) -> list[bytes]:
        """Every request of the mix on the wire, in the mix's order."""
        host, headers = self.host_header, self.headers
        return [r.encode(host_header=host, headers=headers, keepalive=self.keepalive) for r in self.mix]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        d = asdict(self)
        d["headers"] = [list(h) for h in self.headers]
        d["requests"] = [r.to_dict() for r in self.requests]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoadSpec:
        """Inverse of to_dict."""
        d = dict(d)
        d["headers"] = tuple(tuple(h) for h in d.get("headers", ()))
        d["requests"] = tuple(Request.from_dict(r) for r in d.get("requests", ()))
        return cls(**d)


@dataclass(frozen=True)
class LoadResult:
    """What one generator measured in the measured window (warm-up excluded)."""

    generator: str
    duration_s: float
    requests: int
    ok: int
    errors: dict[str, int]
    status_counts: dict[int, int]
    redirect_location: str | None
    latency_ms: dict[str, float]
    bytes_received: int
    # CPU the generator itself spent in the measured window (getrusage in the child),
    # so interpreter start-up, warm-up and the histogram build are not charged to it.
    cpu_user_s: float | None = None
    cpu_system_s: float | None = None
    notes: tuple[str, ...] = field(default=())
    # Several client hosts: the busiest one's CPU (user + system, s); None: one client, cpu_user/system_s is its.
    busiest_client_cpu_s: float | None = None
    hosts: int = 1  # how many client hosts' results this one merges
    per_request: tuple[RequestFigures, ...] = ()  # a mix (--urls): each request's figures, in the mix's order
    # The built-in's latencies (µs) as an encoded HdrHistogram: several client hosts' merge exactly.
    histogram: str | None = None
    # locust: the master's CPU over the window (a role of its own on this host, "client (locust master)").
    master_cpu_s: float | None = None

    @property
    def ok_per_s(self) -> float:
        """2xx responses per second of the measured window."""
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def requests_per_s(self) -> float:
        """Responses (any status) per second of the measured window."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float | None:
        """Generator CPU (user + system) per response, in microseconds."""
        if self.cpu_user_s is None or self.cpu_system_s is None or not self.requests:
            return None
        return (self.cpu_user_s + self.cpu_system_s) / self.requests * 1e6

    def to_dict(self) -> dict[str, Any]:
        """Versioned, JSON-able dict (int keys of status_counts become strings in JSON)."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        d["per_request"] = [asdict(figures) for figures in self.per_request]
        d["format"] = FORMAT
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoadResult:
        """Inverse of to_dict, also after a JSON round trip."""
        d = dict(d)
        fmt = d.pop("format", FORMAT)
        if fmt != FORMAT:
            raise ValueError(f"unsupported result format {fmt!r}")
        d["status_counts"] = {int(k): int(v) for k, v in d["status_counts"].items()}
        d["errors"] = {str(k): int(v) for k, v in d["errors"].items()}
        d["latency_ms"] = {str(k): float(v) for k, v in d["latency_ms"].items()}
        d["notes"] = tuple(d.get("notes", ()))
        d["per_request"] = tuple(RequestFigures.from_dict(f) for f in d.get("per_request", ()))
        return cls(**d)


def is_address(host: str) -> bool:
    """An IP address literal (never a name, which a resolver could point anywhere)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_loopback(spec: LoadSpec) -> None:
    """A child on this machine loads this machine's loopback only (remote.py checks a client host's target)."""
    if spec.host not in LOOPBACK_HOSTS:
        raise ValueError(f"host must be one of {', '.join(LOOPBACK_HOSTS)} from this machine, not {spec.host!r}")


def latency_histogram(latencies_ns: Iterable[int]) -> HdrHistogram:
    """Raw latencies in ns as an HdrHistogram of µs (1 µs .. 1 h at 3 significant digits)."""
    from hdrh.histogram import HdrHistogram

    histogram = HdrHistogram(1, 3_600_000_000, 3)
    # Counting equal µs values first turns 100k record_value calls into a few thousand.
    for value_us, count in Counter(max(1, ns // 1000) for ns in latencies_ns).items():
        histogram.record_value(min(value_us, 3_600_000_000), count)
    return histogram


def summary_of(histogram: HdrHistogram) -> dict[str, float]:
    """p50/p90/p99/max/mean in ms of a histogram of µs; {} when it is empty."""
    if histogram.get_total_count() == 0:
        return {}
    return {
        "p50": histogram.get_value_at_percentile(50) / 1000,
        "p90": histogram.get_value_at_percentile(90) / 1000,
        "p99": histogram.get_value_at_percentile(99) / 1000,
        "max": histogram.get_max_value() / 1000,
        "mean": round(histogram.get_mean_value() / 1000, 6),
    }


def latency_summary_ms(latencies_ns: Iterable[int]) -> dict[str, float]:
    """p50/p90/p99/max/mean in ms from raw latencies in ns, through an HdrHistogram."""
    return summary_of(latency_histogram(latencies_ns))


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    """Only the error kinds that happened."""
    return {kind: n for kind, n in counts.items() if n}


def ceil_s(seconds: float) -> int:
    """Whole seconds, at least 1 (wrk and ab take integer durations)."""
    return max(1, math.ceil(seconds - 1e-9))


# Headers that carry credentials: never on a command line, which /proc shows to every local user.
_SECRET_HEADER_WORDS = ("cookie", "authorization", "token", "secret", "key", "session", "auth")


def secret_headers(spec: LoadSpec) -> list[str]:
    """Names of the spec's headers that look like credentials."""
    return [name for name, _ in spec.headers if any(word in name.lower() for word in _SECRET_HEADER_WORDS)]


def check_supported(spec: LoadSpec, generator: str) -> None:
    """Raise ValueError or LoadgenUnavailable before starting a generator that cannot run spec."""
    if generator == "builtin":
        return
    if generator == "locust":
        from .locust.setup import check_locust

        check_locust(spec)
        return
    if generator not in ("wrk", "ab"):
        raise ValueError(f"unknown generator {generator!r} (builtin, wrk, ab, locust)")
    if spec.unix_socket is not None:
        raise ValueError(f"{generator} cannot connect to a unix socket; use generator='builtin'")
    if spec.rate is not None:
        raise ValueError(f"{generator} has no constant-rate mode (that is wrk2); use generator='builtin'")
    if generator == "ab" and len(spec.mix) > 1:
        raise ValueError("ab sends one request over and over: a --urls mix needs the builtin or wrk load generator")
    if generator == "ab" and spec.first.method not in AB_METHODS:
        raise ValueError(
            f"ab sends {', '.join(AB_METHODS)} only, not {spec.first.method}: use the builtin or wrk load generator"
        )
    if generator == "ab" and (secret := secret_headers(spec)):
        raise ValueError(
            f"ab takes headers only on its command line, where every local user can read them ({secret[0]}):"
            " use the builtin or wrk load generator"
        )
    if shutil.which(generator) is None:
        raise LoadgenUnavailable(f"{generator} not found on PATH")
