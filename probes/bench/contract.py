"""What the engine and the code inside each server process (probes.worker) agree on: the
environment names, the readiness URL, and the dotted paths the servers are started with.

The engine never imports the worker (it imports Django); it names it here, once.
"""

from __future__ import annotations

# The directory where each server process keeps its timing counters (unset: no wrapper).
STATS_DIR_ENV = "SERVEBENCH_STATS_DIR"
# The server kind the entry runs under (servers.kinds.KINDS): what the wrapper must know of it is decided once.
KIND_ENV = "SERVEBENCH_SERVER_KIND"
# "module:callable" served instead of the project's application (the null app, a test's broken app).
TARGET_APP_ENV = "SERVEBENCH_TARGET_APP"

# Answered by the entries themselves, before the project's application: readiness never
# depends on the probe URLs or the project's middleware.
READY_PATH = "/__servebench__/ready"
READY_BODY = b"ready\n"

ENTRY_APP = "probes.worker.wsgi:application"
# ASGI servers run its twin: the project's ASGI application, the same readiness URL and counters.
ASGI_ENTRY_APP = "probes.worker.asgi:application"
# The null app is served through the same entry (and timing wrapper), as TARGET_APP_ENV.
NULL_APP = "probes.worker.nullapp:application"
ASGI_NULL_APP = "probes.worker.nullapp:asgi_application"
FASTCGI_LAUNCHER = "probes.worker.fastcgi"

# --db-copy: the NAME the project's default database is served from (a fresh copy per configuration);
# probes.worker.database applies it before Django is set up.
DATABASE_NAME_ENV = "SERVEBENCH_DATABASE_NAME"
