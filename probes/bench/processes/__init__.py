"""Processes and files servebench owns: the one supervisor (supervisor.py, procfs.py), what a killed run
left (orphans.py), the one port allocator (ports.py), the private run directory (rundir.py), files written
safely beside other users (files.py)."""
