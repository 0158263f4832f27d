"""What broke: a configuration that cannot serve its URL, said in one line.

Three sources, the first that knows wins: the exceptions the servers' timing
wrapper recorded (Django's got_request_exception), the tracebacks in the
server's log, and the same request replayed once in servebench's own process
with Django's own machinery, which also says what Django decided for a 3xx or
4xx (the host to allow, CSRF, no URL matched, where it redirects).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bench.loadgen.requests import Request
from ..bench.measure.t0 import wsgi_environ
from ..bench.model.results import Failure
from ..bench.model.tracebacks import ExceptionSeen, exception_seen, where

WSGIApp = Callable[..., Iterable[bytes]]
# Where Django says why it refused a request (SuspiciousOperation, CSRF, 404, 500).
DJANGO_LOGGERS = ("django.request", "django.security", "django.security.DisallowedHost", "django.security.csrf")
MAX_EXCEPTIONS = 3
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$')
_RAISED = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")


@dataclass(frozen=True)
class InProcess:
    """The target requested once in servebench's process: its status and what Django said about it."""

    status: int | None  # None: the application raised out of the WSGI call
    location: str = ""
    logged: tuple[tuple[str, str], ...] = ()  # (logger, message) of DJANGO_LOGGERS during the request
    exceptions: tuple[ExceptionSeen, ...] = ()
    # The view saved a session on the server side (SessionMiddleware's Set-Cookie of SESSION_COOKIE_NAME, not
    # signed cookies): serialized or contended advice names sessions only then.
    session_saved: bool = False


def exceptions_in_log(text: str, *, root: Path) -> list[ExceptionSeen]:
    """The distinct exceptions of the Python tracebacks in a log, first seen first."""
    found: dict[tuple[str, str, str], int] = {}
    frames: list[tuple[str, int, str]] = []
    in_traceback = False
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback, frames = True, []
        elif in_traceback and (match := _FRAME.match(line)):
            frames.append((match["file"], int(match["line"]), match["func"].strip()))
        elif in_traceback and line[:1] not in (" ", "\t", "") and (raised := _RAISED.match(line.strip())):
            # A chained traceback follows with its own "Traceback" line: each is counted.
            name = raised["type"].rsplit(".", 1)[-1]
            key = (name, (raised["message"] or "")[:300], where(frames, root))
            found[key] = found.get(key, 0) + 1
            in_traceback = False
    return [ExceptionSeen(type_, message, where, count) for (type_, message, where), count in found.items()]


def exceptions_in_logs(paths: Iterable[Path], *, root: Path) -> list[ExceptionSeen]:
    """exceptions_in_log over files that may not exist."""
    seen = []
    for path in paths:
        try:
            seen += exceptions_in_log(path.read_text(errors="replace"), root=root)
        except OSError:
            continue
    return seen


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[int, tuple[str, str]] = {}  # by id: a record propagates to several of our loggers

    def emit(self, record: logging.LogRecord) -> None:
        self.records.setdefault(id(record), (record.name, record.getMessage()))


@contextlib.contextmanager
def _captured() -> Iterator[_Capture]:
    """DJANGO_LOGGERS into one handler only, for one request: no traceback printed, no mail to ADMINS."""
    capture = _Capture()
    saved = []
    for name in DJANGO_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers, logger.propagate, logger.level, logger.disabled))
        logger.handlers, logger.propagate, logger.level, logger.disabled = [capture], False, logging.DEBUG, False
    try:
        yield capture
    finally:
        for logger, handlers, propagate, level, disabled in saved:
            logger.handlers, logger.propagate, logger.level, logger.disabled = handlers, propagate, level, disabled


def replay(
    app: WSGIApp,
    path: str,
    *,
    host: str,
    headers: Sequence[tuple[str, str]],
    root: Path,
    request: Request | None = None,
) -> InProcess:
    """One request of `path` (a GET, or what `request` says) through the project's WSGI app here, with what
    Django logged and raised."""
    from django.core.signals import got_request_exception

    raised: list[ExceptionSeen] = []

    def on_exception(sender: object, **kwargs: object) -> None:
        _, exc, tb = sys.exc_info()
        if exc is not None:
            raised.append(exception_seen(exc, tb, root))

    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: object = None) -> Any:
        answer["status"] = int(status.split(" ", 1)[0])
        answer["location"] = next((v for k, v in response_headers if k.lower() == "location"), "")
        answer["session_saved"] = _session_saved(response_headers)
        return lambda data: None

    got_request_exception.connect(on_exception, weak=False, dispatch_uid="servebench-replay")
    try:
        with _captured() as capture:
            result = app(wsgi_environ(path, host=host, headers=dict(headers), request=request), start_response)
            try:
                for _ in result:
                    pass
            finally:
                if hasattr(result, "close"):
                    result.close()
    except Exception as exc:  # the user's code, with DEBUG_PROPAGATE_EXCEPTIONS or a bad middleware
        raised.append(exception_seen(exc, exc.__traceback__, root))
        answer = {}
    finally:
        got_request_exception.disconnect(dispatch_uid="servebench-replay")
    return InProcess(
        answer.get("status"),
        answer.get("location", ""),
        tuple(capture.records.values()),
        tuple(raised),
        session_saved=answer.get("session_saved", False),
    )


def _session_saved(headers: Sequence[tuple[str, str]]) -> bool:
    """True when the response sets the session cookie of a server-side session store (SessionMiddleware saved)."""
    from django.conf import settings

    if settings.SESSION_ENGINE.endswith("signed_cookies"):
        return False
    prefix = f"{settings.SESSION_COOKIE_NAME}="
    return any(name.lower() == "set-cookie" and value.startswith(prefix) for name, value in headers)


# What gets a request that changes data past Django's CSRF check.
CSRF_FIX = "--login-as USERNAME sends the login session's CSRF token; or make the view csrf_exempt"


def decided(status: int, *, path: str, host: str, location: str, logged: Sequence[tuple[str, str]]) -> str:
    """What Django decided about a 3xx or 4xx, in Django's own words where it has some."""
    from django.conf import settings

    said = [message for logger, message in logged if logger.startswith("django.security")]
    if 300 <= status < 400:
        if location.startswith("https:"):
            hint = ": the project sends plain HTTP to https (SECURE_SSL_REDIRECT?); servebench speaks plain HTTP"
        elif str(settings.LOGIN_URL) in location:
            hint = ": the page needs a login (--login-as USERNAME)"
        else:
            hint = ": load that URL instead"
        return f"redirects to {location or '(no Location)'}{hint}"
    if status == 400:
        from django.core.exceptions import DisallowedHost
        from django.core.handlers.wsgi import WSGIRequest

        try:
            WSGIRequest(wsgi_environ(path, host=host)).get_host()
        except DisallowedHost as exc:
            return f"DisallowedHost: {exc}"  # Django's message names the host to add to ALLOWED_HOSTS
        return said[0] if said else "Django refused the request as suspicious (400)"
    if status == 403:
        csrf = [message for logger, message in logged if logger == "django.security.csrf"]
        if csrf:
            return f"CSRF: {csrf[0]}: the view refused it for CSRF ({CSRF_FIX})"
        return next((message for _, message in logged), "the view refused it (PermissionDenied or a 403 answer)")
    if status == 404:
        from django.urls import Resolver404, resolve

        try:
            match = resolve(wsgi_environ(path, host=host)["PATH_INFO"])
        except Resolver404:
            return f"no URL pattern of ROOT_URLCONF ({settings.ROOT_URLCONF}) matches {path.split('?')[0]}"
        return f"{path} matched {match.view_name or match._func_path}, whose view raised Http404 (no such object?)"
    return said[0] if said else ""


def _exception_text(seen: ExceptionSeen) -> str:
    message = seen.message.splitlines()[0] if seen.message else ""
    return f"{seen.type}" + (f": {message}" if message else "") + f" at {seen.where}"


def distinct(*sources: Iterable[ExceptionSeen]) -> tuple[ExceptionSeen, ...]:
    """The first MAX_EXCEPTIONS distinct (type, message) over the sources, in order."""
    kept: dict[tuple[str, str], ExceptionSeen] = {}
    for source in sources:
        for seen in source:
            kept.setdefault((seen.type, seen.message), seen)
    return tuple(kept.values())[:MAX_EXCEPTIONS]


def failure(
    *,
    head: str,
    status: int | None,
    in_process: InProcess | None,
    exceptions: Sequence[ExceptionSeen],
    decision: str,
    logs: Sequence[Path],
    gone: Sequence[str] = (),
) -> Failure:
    """A Failure whose summary is one line: head, then what Django decided or the first exception.

    gone: the services servebench started for the run that have exited since ("servebench's
    memcached"). The in-process answer was taken while they ran: a different answer now is
    their death, not a server environment that differs.
    """
    parts = [head]
    if gone:
        parts[0] += f" ({' and '.join(gone)} exited during the run)"
    elif in_process is not None and status is not None and in_process.status != status:
        here = in_process.status if in_process.status is not None else "an exception"
        parts[0] += f" ({here} in servebench's own process: the server's environment differs)"
    if decision:
        parts.append(decision)
    if exceptions:
        more = f" (+{len(exceptions) - 1} more)" if len(exceptions) > 1 else ""
        parts.append(_exception_text(exceptions[0]) + more)
    elif status is not None and status >= 500:
        parts.append("no exception was recorded: see the server's log")
    return Failure(
        summary=": ".join(parts),
        status=status,
        in_process_status=in_process.status if in_process else None,
        exceptions=tuple(exceptions),
        decided=decision,
        logs=tuple(str(path) for path in logs),
    )
