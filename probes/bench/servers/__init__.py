"""The servers: every kind described once (kinds.py; its command line in argv.py), one configuration
brought up for real with its front (stack.py, nginx.py), and the services the probes need (memcached.py,
postgres.py)."""
