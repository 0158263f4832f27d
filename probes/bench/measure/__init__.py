"""Measuring: a sweep of configurations (sweep.py), each measured window (window.py) with the CPU of
every role (cpu.py, cpu_accounting.py), the server tree's memory (memory.py), the view in-process (t0.py),
and py-spy's samples (pyspy.py, speedscope.py)."""
