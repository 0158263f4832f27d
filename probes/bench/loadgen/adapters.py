"""Adapters that run wrk or ab and translate their output into a LoadResult."""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..processes.files import write_atomic
from ..processes.supervisor import die_with_parent
from .model import LoadgenError, LoadResult, LoadSpec, ceil_s, check_supported, nonzero
from .requests import DEFAULT_CONTENT_TYPE, RequestFigures
from .wrkscript import MARKER, MIX_MARKER, QUANTILES, QUANTILES_MARKER, wrk_script


def _url(spec: LoadSpec) -> str:
    host = spec.connect_host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{spec.port}{spec.path}"


def _header_args(spec: LoadSpec, *, connection_close: bool) -> list[str]:
    """ab's -H arguments (check_supported keeps credentials out of them)."""
    args = ["-H", f"Host: {spec.host_header}"]
    for name, value in spec.headers:
        args += ["-H", f"{name}: {value}"]
    if connection_close:
        args += ["-H", "Connection: close"]
    return args


def _status_class(spec: LoadSpec) -> tuple[int | None, str | None]:
    """One request before the run: wrk and ab cannot tell 3xx apart; learn if the URL redirects."""
    conn = http.client.HTTPConnection(spec.connect_host, spec.port, timeout=spec.timeout_s)
    try:
        first = spec.first
        headers = {"Host": spec.host_header, **dict(spec.headers), **dict(first.body_headers())}
        conn.request(first.method, first.path, body=first.body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    except (OSError, http.client.HTTPException):
        return None, None
    finally:
        conn.close()


def _run_measured(
    argv: list[str], timeout_s: float, *, stop_after_s: float | None = None
) -> tuple[str, str, float, float]:
    """Run argv to completion; return stdout, stderr and the user/system CPU it used.

    stop_after_s: SIGINT the tool that long after its start (wrk ends its run on SIGINT and reports it as
    usual, its duration measured by itself): a window of a fraction of a second where -d takes whole ones.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # KILL from the kernel if this generator process dies: wrk and ab keep nothing to clean up.
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent(signal.SIGKILL),
    ) as process:
        try:
            if stop_after_s is not None:
                try:
                    process.wait(timeout=stop_after_s)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            process.communicate()
            raise LoadgenError(f"{argv[0]} did not finish within {timeout_s:.0f} s") from exc
        except BaseException:  # a TERM (SystemExit) or Ctrl-C meanwhile: the tool ends now, as subprocess.run does
            process.kill()
            raise
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user_s, system_s = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return out, err, user_s, system_s


def _classify(
    generator: str, good: int, bad: int, preflight: int | None
) -> tuple[int, dict[str, int], dict[int, int], list[str]]:
    """Split the tool's good/bad response counts into ok / redirect / non2xx.

    wrk counts 3xx as good and ab counts them as bad (non-2xx); neither says which
    code it saw, so one preflight request tells whether this URL redirects.
    """
    notes = [f"{generator} reports no status codes; status_counts inferred from a preflight request"]
    redirects = preflight is not None and 300 <= preflight < 400
    good_redirect = redirects and generator == "wrk"
    bad_redirect = redirects and generator == "ab"
    ok = 0 if good_redirect else good
    errors = {
        "redirect": good if good_redirect else bad if bad_redirect else 0,
        "non2xx": 0 if bad_redirect else bad,
    }
    counts: dict[int, int] = {}
    if preflight is not None:
        counts[preflight] = bad if (preflight >= 400 or bad_redirect) else good
    return ok, errors, {k: v for k, v in counts.items() if v}, notes


def run_wrk(spec: LoadSpec) -> LoadResult:
    """wrk -t1 -cC -dD with a done() script printing JSON; warm-up is a separate wrk run."""
    check_supported(spec, "wrk")
    preflight, location = _status_class(spec)
    # A 0700 directory, a 0600 script: the headers (a session cookie with --login-as) stay private.
    with tempfile.TemporaryDirectory(prefix="servebench-wrk-") as tmp:
        script = Path(tmp) / "summary.lua"
        write_atomic(script, wrk_script(spec), mode=0o600)
        base = ["wrk", "-t1", f"-c{spec.concurrency}", f"--timeout={ceil_s(spec.timeout_s)}s"]
        base += ["-s", str(script), _url(spec)]
        # -d takes whole seconds: the next one up, and a SIGINT at the fraction ends the run there.
        if spec.warmup_s > 0:
            warm = ceil_s(spec.warmup_s)
            _run_measured(base[:1] + [f"-d{warm}s"] + base[1:], warm + spec.timeout_s + 10, stop_after_s=spec.warmup_s)
        duration = ceil_s(spec.duration_s)
        out, err, user_s, system_s = _run_measured(
            base[:1] + [f"-d{duration}s", "--latency"] + base[1:],
            duration + spec.timeout_s + 10,
            stop_after_s=spec.duration_s,
        )
    line = next((ln for ln in out.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise LoadgenError(f"wrk printed no summary: {(out + err).strip()[-300:]}")
    s = json.loads(line[len(MARKER) :])
    requests = int(s["requests"])
    failed_status = int(s["status"])
    ok, errors, counts, notes = _classify("wrk", requests - failed_status, failed_status, preflight)
    errors |= {"connect": int(s["connect"]), "reset": int(s["read"] + s["write"])}
    errors["timeout"] = int(s["timeout"])
    # wrk stops counting at -d but reports no in-window cap: max_requests is not enforced.
    per_request = _wrk_sent(spec, out)
    if per_request:
        notes.append(
            "wrk per URL: requests sent only (its Lua sees no timing and cannot match a response to its request)"
        )
    return LoadResult(
        generator="wrk",
        duration_s=s["duration_us"] / 1e6,
        requests=requests,
        ok=ok,
        errors=nonzero(errors),
        status_counts=counts,
        redirect_location=location if preflight is not None and 300 <= preflight < 400 else None,
        latency_ms={k: round(s[f"{k}_us"] / 1000, 6) for k in ("p50", "p90", "p99", "max", "mean")},
        bytes_received=int(s["bytes"]),
        cpu_user_s=round(user_s, 6),
        cpu_system_s=round(system_s, 6),
        notes=tuple(notes),
        per_request=per_request,
        histogram=_wrk_histogram(out, requests),
    )


def _wrk_histogram(out: str, requests: int) -> str | None:
    """wrk's latency as an encoded HdrHistogram rebuilt from its percentile dump (done(): 1 % steps to p99,
    then p99.5, p99.9, p99.99, max): each step's requests at its upper value. Several client hosts' wrk
    latencies merge through it (merge.py), to the dump's resolution; None when wrk printed none."""
    line = next((ln for ln in out.splitlines() if ln.startswith(QUANTILES_MARKER)), None)
    if line is None or requests <= 0:
        return None
    values = [int(float(part)) for part in line[len(QUANTILES_MARKER) :].split(",")]
    if len(values) != len(QUANTILES):
        return None
    from hdrh.histogram import HdrHistogram

    histogram = HdrHistogram(1, 3_600_000_000, 3)
    below = 0.0
    for quantile, value_us in zip(QUANTILES, values, strict=True):
        count = round(requests * quantile / 100) - round(requests * below / 100)
        if count > 0:
            histogram.record_value(min(max(1, value_us), 3_600_000_000), count)
        below = quantile
    encoded: bytes = histogram.encode()
    return encoded.decode("ascii")


def _wrk_sent(spec: LoadSpec, out: str) -> tuple[RequestFigures, ...]:
    """Each request of a mix with what wrk's request() sent of it; none for one request."""
    line = next((ln for ln in out.splitlines() if ln.startswith(MIX_MARKER)), None)
    if len(spec.mix) < 2 or line is None:
        return ()
    sent = [int(float(part)) for part in line[len(MIX_MARKER) :].split(",")]
    return tuple(RequestFigures(label=r.label, weight=r.weight, sent=n) for r, n in zip(spec.mix, sent, strict=True))


def _ab_number(out: str, label: str, default: float | None = None) -> float:
    found = re.search(rf"^{re.escape(label)}:\s+([\d.]+)", out, re.MULTILINE)
    if found is None:
        if default is None:
            raise LoadgenError(f"ab output has no {label!r}: {out.strip()[-300:]}")
        return default
    return float(found.group(1))


def parse_ab(out: str) -> dict[str, Any]:
    """The figures servebench needs from ab's report."""
    failed = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", out)
    connect, receive, length, exceptions = (int(x) for x in failed.groups()) if failed else (0,) * 4
    percentiles = {int(p): float(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.MULTILINE)}
    total = re.search(r"^Total:\s+(\d+)\s+([\d.]+)", out, re.MULTILINE)
    return {
        "requests": int(_ab_number(out, "Complete requests")),
        "failed": int(_ab_number(out, "Failed requests", 0)),
        "non2xx": int(_ab_number(out, "Non-2xx responses", 0)),
        "duration_s": _ab_number(out, "Time taken for tests"),
        "bytes": int(_ab_number(out, "Total transferred", 0)),
        "connect": connect,
        "receive": receive,
        "length": length,
        "exceptions": exceptions,
        "latency_ms": {
            "p50": percentiles.get(50, 0.0),
            "p90": percentiles.get(90, 0.0),
            "p99": percentiles.get(99, 0.0),
            "max": percentiles.get(100, 0.0),
            "mean": float(total.group(2)) if total else 0.0,
        },
    }


def _ab_body_args(spec: LoadSpec, directory: Path) -> list[str]:
    """-p FILE / -u FILE and -T TYPE for a POST or PUT (check_supported refuses what ab cannot send)."""
    request = spec.first
    if request.method == "GET":
        return []
    body = directory / "body"
    fd = os.open(body, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(request.body)
    content_type = request.content_type or DEFAULT_CONTENT_TYPE
    return ["-p" if request.method == "POST" else "-u", str(body), "-T", content_type]


def run_ab(spec: LoadSpec) -> LoadResult:
    """ab -c C -t T -n N (-k for keep-alive); warm-up is a separate ab run."""
    check_supported(spec, "ab")
    preflight, location = _status_class(spec)
    # -l: dynamic pages vary in length, which ab would otherwise count as failures.
    # -r: keep going after a receive error instead of aborting the whole run.
    base = ["ab", "-q", "-l", "-r", f"-c{spec.concurrency}", f"-s{ceil_s(spec.timeout_s)}"]
    base += ["-k"] if spec.keepalive else []
    base += _header_args(spec, connection_close=False)
    duration = ceil_s(spec.duration_s)
    # The body in a 0600 file of a 0700 directory, named by ab's -p (POST) or -u (PUT): never in its argv.
    with tempfile.TemporaryDirectory(prefix="servebench-ab-") as tmp:
        base += _ab_body_args(spec, Path(tmp))
        if spec.warmup_s > 0:
            warm = ceil_s(spec.warmup_s)
            _run_measured(base + [f"-t{warm}", f"-n{spec.max_requests}", _url(spec)], warm + 30)
        out, err, user_s, system_s = _run_measured(
            base + [f"-t{duration}", f"-n{spec.max_requests}", _url(spec)],
            duration + spec.timeout_s + 30,
        )
    if "Complete requests" not in out:
        if "refused" not in err:
            raise LoadgenError(f"ab failed: {(out + err).strip()[-300:]}")
        # ab gives up at the first refused connect: report it as such, not as a crash.
        return LoadResult(
            generator="ab",
            duration_s=0.0,
            requests=0,
            ok=0,
            errors={"connect": 1},
            status_counts={},
            redirect_location=None,
            latency_ms={},
            bytes_received=0,
            cpu_user_s=round(user_s, 6),
            cpu_system_s=round(system_s, 6),
            notes=("ab stops at the first refused connection",),
        )
    a = parse_ab(out)
    requests = int(a["requests"]) - int(a["failed"])
    # ab may count a response as both failed (e.g. cut at the time limit) and non-2xx.
    non2xx = min(int(a["non2xx"]), requests)
    ok, errors, counts, notes = _classify("ab", requests - non2xx, non2xx, preflight)
    errors |= {"connect": a["connect"], "reset": a["receive"], "malformed": a["exceptions"]}
    notes.append("ab latency percentiles are whole milliseconds and include connect time")
    return LoadResult(
        generator="ab",
        duration_s=float(a["duration_s"]),
        requests=requests,
        ok=ok,
        errors=nonzero(errors),
        status_counts=counts,
        redirect_location=location if preflight is not None and 300 <= preflight < 400 else None,
        latency_ms=dict(a["latency_ms"]),
        bytes_received=int(a["bytes"]),
        cpu_user_s=round(user_s, 6),
        cpu_system_s=round(system_s, 6),
        notes=tuple(notes),
    )
