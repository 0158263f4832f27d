"""probes.bench.measure"""
