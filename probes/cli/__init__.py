"""probes.cli"""
