"""What a load sends: one request or a weighted mix of them (--method, --data/--body, --urls).

A description only, shared by every generator and t0, so that each sends the same bytes: the
method, the path, the body and its Content-Type. A GET without a body is what servebench
sent before requests had a method; its bytes are unchanged.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# A body is sent with a Content-Length: methods that define no body semantics (GET, HEAD, ...) may carry
# one, but a form or JSON body goes with POST, PUT or PATCH in every project servebench is meant for.
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DEFAULT_CONTENT_TYPE = "application/x-www-form-urlencoded"  # what a browser's form and curl --data send
# The built-in generator and wrk pick the next request from a table that follows the weights exactly
# over each of its turns; weights are reduced by their common divisor so the table stays short.
MAX_TABLE = 10_000


@dataclass(frozen=True)
class Request:
    """One request of a load: method, path, body (bytes) and, with a body, its Content-Type."""

    path: str
    method: str = "GET"
    body: bytes = b""
    content_type: str | None = None
    weight: int = 1

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/': {self.path!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.weight < 1:
            raise ValueError(f"weight must be >= 1, not {self.weight}")
        if self.content_type is not None and any(c in self.content_type for c in "\r\n"):
            raise ValueError("invalid content type")

    @property
    def label(self) -> str:
        """How reports name it: 'POST /ping/'."""
        return f"{self.method} {self.path}"

    def body_headers(self) -> list[tuple[str, str]]:
        """Content-Type and Content-Length of a request with a body (or of a POST without one, which a
        server must be told is empty); none for a GET without one."""
        if not self.body and self.method not in BODY_METHODS:
            return []
        headers = [("Content-Type", self.content_type or DEFAULT_CONTENT_TYPE)] if self.body else []
        return [*headers, ("Content-Length", str(len(self.body)))]

    def encode(self, *, host_header: str, headers: Sequence[tuple[str, str]], keepalive: bool) -> bytes:
        """The request on the wire, encoded once; 'Connection: close' when keep-alive is off."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host_header}"]
        lines += [f"{name}: {value}" for name, value in (*headers, *self.body_headers())]
        if not keepalive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the body in base64 (it may be any bytes)."""
        return {
            "path": self.path,
            "method": self.method,
            "body": base64.b64encode(self.body).decode("ascii"),
            "content_type": self.content_type,
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Request:
        return cls(**{**d, "body": base64.b64decode(d.get("body", ""))})


def turns(requests: Sequence[Request]) -> list[int]:
    """The order a mix is sent in: indexes into requests, each as often as its weight (reduced by their
    common divisor), interleaved so every stretch of the table follows the weights (no run of one URL)."""
    divisor = reduce(math.gcd, (r.weight for r in requests))
    weights = [r.weight // divisor for r in requests]
    total = sum(weights)
    if total > MAX_TABLE:
        raise ValueError(f"the weights, reduced, add up to {total}: at most {MAX_TABLE}")
    # Smooth weighted round-robin (nginx's): each turn goes to the one furthest behind its share.
    credit = [0] * len(weights)
    order = []
    for _ in range(total):
        credit = [c + w for c, w in zip(credit, weights, strict=True)]
        chosen = max(range(len(weights)), key=lambda i: credit[i])
        credit[chosen] -= total
        order.append(chosen)
    return order


@dataclass(frozen=True)
class RequestFigures:
    """What one request of a mix got in a window: sent, answered, by status, and its latency when the
    generator can tell (the built-in one can; wrk gives its Lua no timing, so only what was sent)."""

    label: str
    weight: int
    sent: int
    responses: int | None = None  # None: the generator cannot tell which response answered which request
    status_counts: dict[int, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequestFigures:
        counts = {int(k): int(v) for k, v in d.get("status_counts", {}).items()}
        return cls(**{**d, "status_counts": counts, "latency_ms": dict(d.get("latency_ms", {}))})
