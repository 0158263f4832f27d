"""What the load sends, checked before anything starts: --method, --data / --body @FILE, --content-type,
and --urls FILE (a weighted mix, one request a line: `weight METHOD path [body]`).

A file is read from the path the user gave only: opened once without following a link, a regular
file, at most MAX_BODY_BYTES. Every line of a --urls file is checked before anything starts, and a
refusal names the file and line.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..bench.loadgen.model import LoadgenError, LoadSpec, check_supported
from ..bench.loadgen.plan import LoadPlan
from ..bench.loadgen.requests import METHODS, Request, turns
from .inputs import Refused, checked_url, first_line

MAX_BODY_BYTES = 2**20  # 1 MB: a form, a JSON document, a small upload; more is not a request to benchmark
MAX_WEIGHT = 1000
# Methods whose body Django's request parsing ignores: a body with them is a mistake, not a benchmark.
NO_BODY_METHODS = ("GET", "HEAD", "OPTIONS")


def read_private(text: str, option: str) -> bytes:
    """The bytes of the file named `text`, opened once: no link followed, a regular file, at most 1 MB."""
    try:
        fd = os.open(text, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        reason = "it is a symbolic link (servebench follows none)" if exc.errno == errno.ELOOP else exc.strerror
        raise Refused(f"{option} {text}: {reason}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise Refused(f"{option} {text}: not a regular file")
    with os.fdopen(fd, "rb") as file:
        if info.st_size > MAX_BODY_BYTES:
            raise Refused(f"{option} {text}: {info.st_size:,} bytes; at most {MAX_BODY_BYTES:,} (1 MB)")
        data = file.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:  # it grew between fstat and read
        raise Refused(f"{option} {text}: more than {MAX_BODY_BYTES:,} bytes (1 MB)")
    return data


def _content_type(options: Mapping[str, Any]) -> str | None:
    text = options.get("content_type")
    if text is None:
        return None
    if not text.strip() or any(not c.isascii() or not c.isprintable() for c in text):
        raise Refused(f"--content-type takes a media type such as application/json, not {text!r}")
    if any(name.split(":")[0].strip().lower() == "content-type" for name in options.get("header") or []):
        raise Refused("--content-type and --header 'Content-Type: ...' both set it: give one")
    return text.strip()


def _method(text: str, where: str) -> str:
    if text.upper() not in METHODS:
        raise Refused(f"{where}: {text!r} is not a method servebench sends ({', '.join(METHODS)})")
    return text.upper()


def single_request(options: Mapping[str, Any], path: str) -> Request | None:
    """--method, --data / --body, --content-type as one Request; None when none is given (a GET)."""
    data, body_file = options.get("data"), options.get("body")
    content_type = _content_type(options)
    if data is not None and body_file is not None:
        raise Refused("--data and --body both give the body: give one")
    if body_file is not None and not body_file.startswith("@"):
        raise Refused(f"--body takes @FILE (the body is read from FILE), not {body_file!r}; a string goes to --data")
    body = data.encode() if data is not None else read_private(body_file[1:], "--body") if body_file else None
    method = _method(options["method"], "--method") if options.get("method") is not None else None
    if method is None and body is None and content_type is None:
        return None
    method = method or ("POST" if body is not None else "GET")  # a body without a method: POST, as curl does
    if body is not None and method in NO_BODY_METHODS:
        raise Refused(f"--method {method} sends no body (Django ignores it): give --method POST, PUT or PATCH")
    if content_type is not None and body is None:
        raise Refused("--content-type describes a body: give --data or --body @FILE with it")
    return Request(path, method=method, body=body or b"", content_type=content_type)


def urls_file(text: str, content_type: str | None) -> tuple[Request, ...]:
    """--urls FILE: each line `weight METHOD path [body]` (body: the rest of the line, or @FILE); blank lines
    and lines starting with # skipped. Refused at the first line that is wrong, naming FILE:LINE."""
    raw = read_private(text, "--urls")
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise Refused(f"--urls {text}: not UTF-8 text") from None
    requests = [_url_line(line, f"{text}:{number}", content_type) for number, line in enumerate(lines, 1)]
    mix = tuple(request for request in requests if request is not None)
    if not mix:
        raise Refused(f"--urls {text}: no request in it (each line: weight METHOD path [body])")
    try:
        turns(mix)
    except ValueError as exc:
        raise Refused(f"--urls {text}: {exc}") from None
    return mix


def _url_line(line: str, where: str, content_type: str | None) -> Request | None:
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    parts = line.strip().split(None, 3)
    if len(parts) < 3:
        raise Refused(f"{where}: expected 'weight METHOD path [body]', got {line.strip()!r}")
    weight_text, method_text, path = parts[:3]
    if not weight_text.isdigit() or not 1 <= int(weight_text) <= MAX_WEIGHT:
        raise Refused(f"{where}: the weight is a whole number from 1 to {MAX_WEIGHT}, not {weight_text!r}")
    method = _method(method_text, where)
    try:
        checked_url(path)
    except Refused as exc:
        raise Refused(f"{where}: {str(exc).replace('--url', 'the path', 1)}") from None
    body = None
    if len(parts) == 4:
        text = parts[3]
        body = read_private(text[1:], f"{where}: body") if text.startswith("@") else text.encode()
        if method in NO_BODY_METHODS:
            raise Refused(f"{where}: {method} sends no body (Django ignores it): POST, PUT or PATCH")
    content = content_type if body else None
    return Request(path, method=method, body=body or b"", content_type=content, weight=int(weight_text))


REQUEST_OPTIONS = ("urls", "method", "data", "body", "content_type")


def requests_of(options: Mapping[str, Any], path: str | None, job: str) -> tuple[Request, ...]:
    """What the load sends, from the options: the --urls mix, one request, or none (a GET of each target)."""
    given = [name for name in REQUEST_OPTIONS if options.get(name) is not None]
    if given and job not in ("sweep", "explain"):
        raise Refused(f"--{given[0].replace('_', '-')} sets what the load sends: --{job} puts no load")
    check_urls_alone(options)
    if options.get("urls") is not None:
        return urls_file(options["urls"], _content_type(options))
    single = single_request(options, path or "/")
    return (single,) if single is not None else ()


def with_requests(load: LoadPlan, requests: tuple[Request, ...]) -> LoadPlan:
    """The load plan with what it sends; Refused for a combination the generator cannot send."""
    if not requests:
        return load
    load = replace(load, requests=requests)
    try:
        spec = LoadSpec(path=load.path, port=1, host_header=load.host_header, headers=load.headers, requests=load.mix)
        check_supported(spec, load.generator)
    except (ValueError, LoadgenError) as exc:
        raise Refused(f"--loadgen {load.generator}: {first_line(exc)}") from None
    return load


def check_urls_alone(options: Mapping[str, Any]) -> None:
    """--urls names every request of the load: no --url, --probe, --method, --data or --body beside it."""
    if options.get("urls") is None:
        return
    for name in ("url", "probe", "method", "data", "body"):
        if options.get(name):
            raise Refused(f"--urls FILE names each request (weight METHOD path [body]): give no --{name} with it")
