"""probes.bench.processes"""
