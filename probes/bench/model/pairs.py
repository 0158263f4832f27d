"""What an interleaved A/B (--against) keeps beside its two runs: what each side was, and the windows' order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import Run, Sample


@dataclass(frozen=True)
class Against:
    """Side A against side B: both runs are in Suite.runs (labels a_label, b_label), their windows in the
    order measured (each run's samples in time order); `order` says how they interleaved ("ABBAABBA…")."""

    a_is: str  # what A is: "ref origin/main (3f2c1a9)", "settings settings.bench", "checkout /srv/old"
    b_is: str  # what B is: the project as it stands
    a_label: str
    b_label: str
    order: str  # one letter per measured window, in time order

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Against:
        return cls(**{key: str(data[key]) for key in ("a_is", "b_is", "a_label", "b_label", "order")})

    def sides(self, runs: tuple[Run, ...]) -> tuple[Run, Run] | None:
        """(A's run, B's run) among the suite's runs; None when either is missing (a failed start)."""
        by_label = {run.label: run for run in runs}
        a, b = by_label.get(self.a_label), by_label.get(self.b_label)
        return (a, b) if a is not None and b is not None else None

    def timeline(self, runs: tuple[Run, ...]) -> list[tuple[str, Sample]]:
        """Every window in the order measured, as (side, sample)."""
        sides = self.sides(runs)
        if sides is None:
            return []
        left = {"A": list(sides[0].samples), "B": list(sides[1].samples)}
        return [(side, left[side].pop(0)) for side in self.order if left[side]]
