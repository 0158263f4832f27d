"""probes.bench.judge"""
