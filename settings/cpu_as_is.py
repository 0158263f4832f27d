"""The bench settings under another name: side A of benchmarks/ab_power.py's A/A and A/B (--against-settings)."""

from __future__ import annotations

from .bench import *  # noqa: F403

PROBES_CPU_SCALE = 1.0
