"""probes.job"""
