"""The timing code: the app's own time, counted inside each server process and read by servebench.

layout (the counters file, defined once), writer (each process's counters file and the sampling),
reader (what servebench reads at a window's edges), wsgi and asgi (the wrappers around the app).
The worker (probes.worker) puts a wrapper around the project's application; this package imports
nothing of it, nor Django.
"""
