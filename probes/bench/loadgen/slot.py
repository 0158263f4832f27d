"""One client slot of the built-in generator: at most one socket and one request in flight."""

from __future__ import annotations

import socket
from typing import Any

from .model import LoadSpec


class Slot:
    """One client slot: at most one socket and one request in flight at a time."""

    __slots__ = (
        *("sock", "fd", "recv", "feed", "parser", "done", "keep", "start_ns", "head", "sent", "busy"),
        *("index", "pending"),
    )

    # httptools looks each callback up with getattr(protocol, name, None) for every new
    # parser; a missing attribute costs a raised-and-caught AttributeError, None does not.
    on_message_begin = on_url = on_status = on_header = on_headers_complete = None
    on_body = on_chunk_header = on_chunk_complete = None

    def __init__(self) -> None:
        # Any: the hot loop reads these without None checks; it only touches a live slot.
        self.sock: Any = None
        self.recv: Any = None
        self.feed: Any = None
        self.parser: Any = None
        self.fd = -1
        self.done = False
        self.keep = True
        self.start_ns = 0
        self.head: bytes | None = None
        self.sent = False
        self.busy = False
        self.index = 0  # which request of the mix is in flight
        self.pending = b""  # what of the request a full socket buffer has not taken yet

    def on_message_complete(self) -> None:
        """httptools callback; keep-alive must be read here, llhttp resets it right after."""
        self.done = True
        self.keep = self.parser.should_keep_alive()


def address_of(spec: LoadSpec) -> tuple[int, Any]:
    """The socket family and address the spec connects to."""
    if spec.unix_socket is not None:
        return socket.AF_UNIX, spec.unix_socket
    host = spec.connect_host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, spec.port)
