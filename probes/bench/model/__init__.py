"""The typed results (results.py: Suite -> Run -> Sample) and their versioned JSON, the diagnosis and
across-runs types, the metadata, and the figures of a run computed once (summary.py, memory.py)."""
