"""probes.bench.timing"""
