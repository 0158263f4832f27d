"""Side A's t0 and timing wrapper's cost, measured in A's own interpreter (--against*).

servebench's process has B's code and settings loaded; A's view can only be called in-process in a
process of its own, started in A's directory with A's environment (job/against.py). This module is
that process's entry: `python -m probes.job.side_costs PATH HOST`, the costs as one JSON line on
stdout. A's project may have no servebench of this version: the caller then says A's t0 is missing.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path


def main(argv: list[str]) -> int:
    """Measure the view at argv[0] with Host argv[1]; print {"t0": ViewCost|None, "instrument": …, "notes": […]}."""
    import django

    django.setup()
    from ..cli.matrix import Target
    from . import project
    from .t0 import instrument_cost, t0_cost

    path, host = argv[0], argv[1]
    notes: list[str] = []
    app = project.wsgi_application()
    cost = t0_cost(app, Target(path, path), host, 200, notes.append, unmeasured=notes.append)
    instrument = None
    if cost is not None:
        with tempfile.TemporaryDirectory(prefix="servebench-side-") as run_dir:
            instrument = instrument_cost(app, cost, host, Path(run_dir), notes.append)
    said = [note for note in notes if note.startswith("t0 not measured")]
    print(
        json.dumps(
            {
                "t0": asdict(cost) if cost else None,
                "instrument": asdict(instrument) if instrument else None,
                "notes": said,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
