"""Run a WSGI app under flup's FastCGI servers on a socket servebench binds.

    python -m probes.worker.fastcgi --mode prefork --workers 4 --tcp 127.0.0.1:9000 --backlog 1024 APP

Two flup traps are handled here: flup hard-codes its listen backlog
(socket.SOMAXCONN), so the launcher binds the socket with our backlog and hands
it over; and flup's prefork server ignores SIGTERM on Python >= 3.5 (PEP 475
restarts its select() after the handler only set a flag), so TERM here raises
out of the loop and the children are stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from importlib import import_module
from typing import Any


class _Stop(BaseException):
    """Raised by the TERM/INT handler to leave flup's main loop."""


def _bind(args: argparse.Namespace) -> socket.socket:
    if args.unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        sock.bind(args.unix)
    else:
        host, _, port = args.tcp.rpartition(":")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), int(port)))
    sock.listen(args.backlog)
    return sock


def _server_class(mode: str) -> type:
    if mode == "threaded":
        from flup.server.fcgi import WSGIServer
    else:
        from flup.server.fcgi_fork import WSGIServer
    return WSGIServer  # type: ignore[no-any-return]


def _load(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr or "application")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="probes.worker.fastcgi")
    parser.add_argument("--mode", choices=("threaded", "prefork"), required=True)
    parser.add_argument("--workers", type=int, required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT")
    where.add_argument("--unix", metavar="PATH")
    parser.add_argument("--backlog", type=int, required=True)
    parser.add_argument("app", metavar="MODULE:CALLABLE")
    args = parser.parse_args(argv)

    application = _load(args.app)
    listener = _bind(args)
    base = _server_class(args.mode)

    class Server(base):  # type: ignore[valid-type, misc]
        def _setupSocket(self) -> socket.socket:
            return listener

        def _installSignalHandlers(self) -> None:
            super()._installSignalHandlers()

            def stop(signum: int, frame: Any) -> None:
                self._keepGoing = False
                raise _Stop

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)

    if args.mode == "threaded":
        # "workers" are the threads of this one process kept ready. flup closes
        # a connection at once when its pool is at maxThreads (it never queues),
        # so the pool may grow under load, as flup's default does: the classic
        # benchmark's "stray threads being created willy nilly".
        server = Server(application, minSpare=args.workers, maxSpare=args.workers)
    else:
        server = Server(
            application, minSpare=args.workers, maxSpare=args.workers, maxChildren=args.workers, maxRequests=0
        )
    print(f"flup {args.mode}: {args.workers} workers on {args.tcp or args.unix}", file=sys.stderr, flush=True)
    try:
        server.run()
    except _Stop:
        if args.mode == "prefork":
            server._cleanupChildren()
    finally:
        listener.close()
        if args.unix and os.path.exists(args.unix):
            os.unlink(args.unix)
    sys.stderr.flush()
    # The threaded server's pool threads are not daemons and may sit in a
    # request: leave without joining them, as a killed server would.
    os._exit(0)


if __name__ == "__main__":
    main()
