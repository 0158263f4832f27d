"""Reporters: pure functions from results to text. They never start processes."""
