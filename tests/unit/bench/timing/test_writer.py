"""The writer: a forked child counts in a file of its own, wrappers are not kept alive, nginx's stamp is read."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path

from probes.bench.timing.reader import read_counters
from probes.bench.timing.writer import queue_wait_ns
from probes.bench.timing.wsgi import TimingWrapper

ROOT = Path(__file__).resolve().parents[4]

# A preforking server: the app (and its wrapper) loaded and used in the parent, then forked.
FORKING = """
import os, sys
from pathlib import Path
from probes.bench.timing.wsgi import TimingWrapper

def app(environ, start_response):
    start_response("200 OK", [])
    return [b"x"]

def start(status, headers):
    pass

wrapper = TimingWrapper(app, Path(sys.argv[1]))
for _ in range(3):
    wrapper({}, start)
child = os.fork()
if child == 0:
    for _ in range(5):
        wrapper({}, start)
    os._exit(0)
os.waitpid(child, 0)
wrapper({}, start)
print(os.getpid(), child, "django" in sys.modules)
"""


def test_a_forked_child_counts_in_a_file_of_its_own(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", FORKING, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    parent, child, django_loaded = out.split()
    counted = {pid: counters.requests for pid, counters in read_counters(tmp_path).items()}
    assert counted == {int(parent): 4, int(child): 5}
    assert django_loaded == "False"  # the engine's timing code imports no Django


def test_a_wrapper_no_longer_used_is_not_kept_alive(tmp_path: Path) -> None:
    wrapper = TimingWrapper(lambda environ, start_response: [b""], tmp_path)
    wrapper.counters()
    gone = weakref.ref(wrapper)
    del wrapper
    gc.collect()
    assert gone() is None


def test_nginx_stamp_is_the_wait_before_the_app() -> None:
    now_ns = 1_700_000_000_500_000_000
    assert queue_wait_ns("t=1700000000.123", now_ns) == 377_000_000
    assert queue_wait_ns("t=1700000000.5", now_ns + 500_000_000) == 500_000_000  # not nginx's 3 decimals
    assert queue_wait_ns("t=1700000001.000", now_ns) == 0  # a clock ahead is no wait, not a negative one
    assert queue_wait_ns("t=", now_ns) == -1
    assert queue_wait_ns("t=soon", now_ns) == -1
