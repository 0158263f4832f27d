"""probes.worker"""
