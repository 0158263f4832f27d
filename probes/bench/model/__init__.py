"""probes.bench.model"""
