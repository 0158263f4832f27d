"""What runs inside each server process: the WSGI and ASGI entries, the Django hooks, the null app, flup.

These modules import the engine (its timing wrappers in probes.bench.timing, the contract in
probes.bench.contract, the server kinds); the engine never imports them, nor Django: it names them
in the contract, as the dotted paths the servers are started with.
"""
