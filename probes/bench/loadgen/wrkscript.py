"""The Lua script wrk runs: the request (headers, method, body, a weighted mix) and a done() that prints
the figures as JSON. It is written 0600 in a 0700 directory: a cookie or a body stays out of wrk's argv."""

from __future__ import annotations

from .model import LoadSpec
from .requests import turns

MARKER = "SERVEBENCH_JSON "
MIX_MARKER = "SERVEBENCH_SENT "
QUANTILES_MARKER = "SERVEBENCH_QUANTILES "
# The percentiles wrk's done() dumps (µs): several client hosts' latency is merged from them (merge.py).
QUANTILES = (*range(1, 100), 99.5, 99.9, 99.99, 100)
# wrk calls done() once at the end; a response() hook would cost it a Lua call per response,
# so status codes are not collected in the measured run (see _status_class).
_WRK_SCRIPT = (
    """
done = function(summary, latency, requests)
  if mix_done then mix_done() end
  local e = summary.errors
  io.write(string.format(
    "%s{\\"duration_us\\":%.0f,\\"requests\\":%.0f,\\"bytes\\":%.0f,\\"connect\\":%.0f,"
    .. "\\"read\\":%.0f,\\"write\\":%.0f,\\"status\\":%.0f,\\"timeout\\":%.0f,"
    .. "\\"p50_us\\":%.3f,\\"p90_us\\":%.3f,\\"p99_us\\":%.3f,"
    .. "\\"max_us\\":%.3f,\\"mean_us\\":%.3f}\\n",
    "MARKER", summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
  local q = {}
  for i, p in ipairs({QUANTILES}) do q[i] = string.format("%.0f", latency:percentile(p)) end
  io.write("QUANTILES_MARKER" .. table.concat(q, ",") .. "\\n")
end
""".replace("QUANTILES_MARKER", QUANTILES_MARKER)
    .replace("MARKER", MARKER)
    .replace("{QUANTILES}", "{" + ", ".join(f"{p:g}" for p in QUANTILES) + "}")
)


def _lua_bytes(data: bytes) -> str:
    """A Lua string literal of data, every byte but letters and digits as a decimal escape."""
    return '"' + "".join(chr(b) if b < 128 and chr(b).isalnum() else f"\\{b:03d}" for b in data) + '"'


def _lua_string(text: str) -> str:
    """A Lua string literal of text (latin-1)."""
    return _lua_bytes(text.encode("latin-1"))


def _wrk_headers_lua(spec: LoadSpec) -> str:
    """Lua that sets wrk's request: headers, and a method and body when not a plain GET, in a 0600 script,
    not in wrk's argv (-H, where /proc shows them). One request stays static (wrk builds it once)."""
    headers = [("Host", spec.host_header), *spec.headers]
    if not spec.keepalive:
        headers.append(("Connection", "close"))
    request = spec.first
    # wrk adds the Content-Length of wrk.body itself; the Content-Type is ours.
    headers += [(name, value) for name, value in request.body_headers() if name != "Content-Length"]
    lua = "".join(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}\n" for name, value in headers)
    if request.method != "GET":
        lua += f"wrk.method = {_lua_string(request.method)}\n"
    if request.body or request.body_headers():
        lua += f"wrk.body = {_lua_bytes(request.body)}\n"
    return lua


def _wrk_mix_lua(spec: LoadSpec) -> str:
    """A mix (--urls): request() sends each request in the weights' turn, from a precomputed table of the
    bytes the built-in generator sends too, and counts what it sent per request; done() reads the counts.
    wrk gives its Lua no timing and no way to tell which request a response answers: sent counts only."""
    encoded = ",\n".join(_lua_bytes(raw) for raw in spec.encoded())
    order = ",".join(str(index + 1) for index in turns(spec.mix))
    zeros = ",".join("0" for _ in spec.mix)
    return f"""local requests = {{
{encoded}
}}
local order = {{{order}}}
local turn = 0
sent = {{{zeros}}}
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
request = function()
  turn = turn % #order + 1
  local index = order[turn]
  sent[index] = sent[index] + 1
  return requests[index]
end
mix_done = function()
  local total = {{{zeros}}}
  for _, thread in ipairs(threads) do
    local counts = thread:get("sent")
    for i = 1, #total do total[i] = total[i] + counts[i] end
  end
  io.write("{MIX_MARKER}" .. table.concat(total, ",") .. "\\n")
end
"""


def wrk_script(spec: LoadSpec) -> str:
    """The whole script for spec."""
    mix = _wrk_mix_lua(spec) if len(spec.mix) > 1 else ""
    return _wrk_headers_lua(spec) + mix + _WRK_SCRIPT
