"""locust as servebench's distributed load engine: a master and workers run as subprocesses (driver.py),
servebench's plugin inside them (plugin.py, never imported here), the users generated (userfile.py) or the
user's own locustfile (setup.py reads it)."""

from __future__ import annotations
