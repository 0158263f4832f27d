"""--profile in the user's project: py-spy on each configuration's server, its flame graph kept
beside the results, the project's own code told apart from the server's, Django's and servebench's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..bench.measure.pyspy import ProfilerRun, ProfilerUnavailable, Recording, start_profiler
from ..bench.measure.speedscope import Profile, read_speedscope
from ..bench.model.results import Sample
from ..bench.processes.files import create_private
from ..bench.processes.supervisor import Supervisor
from ..bench.servers.stack import Stack

PROBES_DIR = Path(__file__).resolve().parent
# py-spy must outlive the window: it is ended by SIGINT at the window's end (its --duration is a bound).
MARGIN_S = 10.0


class ProjectProfiling:
    """The sweep's Profiling: py-spy's files in the run directory, each flame graph kept beside the results."""

    def __init__(self, *, supervisor: Supervisor, run_dir: Path, project_dir: Path, keep_as: Path) -> None:
        self.supervisor = supervisor
        self.run_dir = run_dir
        self.project_dirs = [project_dir] if project_dir == PROBES_DIR.parent else [project_dir, PROBES_DIR]
        self.keep_as = keep_as  # e.g. servebench-results/sweep-20261128-050000: profile-sweep-...-N.speedscope.json
        self.recorded = 0
        self._refused: str | None = None  # ptrace refused once is refused for every configuration

    def start(self, stack: Stack, *, window_s: float) -> ProfilerRun:
        """py-spy attached to the server's tree; ProfilerUnavailable (one line) when it cannot be."""
        if self._refused is not None:
            raise ProfilerUnavailable(self._refused)
        self.recorded += 1
        output = self.run_dir / f"profile-{self.recorded}.speedscope.json"
        try:
            return start_profiler(
                self.supervisor, pid=stack.server.pid, output=output, max_duration_s=window_s + MARGIN_S
            )
        except ProfilerUnavailable as exc:
            if exc.lasting:
                self._refused = str(exc)
            raise

    def read(self, recording: Recording, sample: Sample) -> Profile:
        """The recording of the serving processes, its flame graph copied beside the results (0600)."""
        profile = read_speedscope(
            recording.path,
            project_dirs=self.project_dirs,
            probes_dir=PROBES_DIR,
            serving_pids=[int(pid) for pid in sample.served_by_pid] or None,
        )
        # Not sweep-*.json: the toolbar panel reads those as results.
        kept = self.keep_as.with_name(f"profile-{self.keep_as.name}-{self.recorded}.speedscope.json")
        if not create_private(kept, recording.path.read_text()):
            raise ProfilerUnavailable(f"no flame graph: {kept} exists already")
        return replace(profile, flamegraph=str(kept))
