"""What runs inside each server process: the WSGI and ASGI entries, the Django hooks, the null app, the flup launcher.

These modules import the engine's timing code (probes.bench.timing) and the contract
(probes.bench.contract); the engine never imports them: it names them there, as the dotted paths
the servers are started with.
"""
