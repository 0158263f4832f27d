"""Before anything starts: the options (arguments.py), each input checked (inputs.py), the project's
remote databases and caches (backends.py), and the one frozen Plan (plan.py, matrix.py). Starts nothing."""
