"""The servebench engine: starts processes, drives load, measures, judges. Imports no Django, never prints.

Its rooms, in the order data flows through them:
- contract.py: what the engine and the code inside the servers (probes.worker) agree on;
- servers/: every server kind described once (kinds.py), started for real with its front (stack.py, nginx.py)
  and the services the probes need (memcached.py, postgres.py);
- processes/: the one supervisor, orphans of a killed run, ports, the private run directory, safe files;
- loadgen/: the load generators (built-in, wrk, ab), each in a child process; the LoadPlan of a sweep;
- timing/: the timing wrappers inside the servers (wsgi.py, asgi.py), their counters files (layout, writer, reader);
- measure/: a sweep (sweep.py) of measured windows (window.py): CPU per role, memory, t0, py-spy;
- judge/: every judgement: quality, the verdict rules, the wording, across runs, A against B;
- model/: the typed results and their versioned JSON, computed figures on the model (summary.py).
"""
