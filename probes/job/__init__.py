"""A Plan run inside the user's project: the job entry (run.py), the sweep (sweep.py), configurations
brought up and proven (launcher.py), what broke (failures.py), memcached and the database (services.py),
t0 in-process (t0.py), the project seen from servebench (project.py), sessions, --profile."""
