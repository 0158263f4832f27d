"""The bench settings with a planted slowdown: the cpu probe spins 3 % longer (benchmarks/ab_power.py's B)."""

from __future__ import annotations

from .bench import *  # noqa: F403

PROBES_CPU_SCALE = 1.03
