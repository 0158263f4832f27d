"""probes.bench.servers"""
