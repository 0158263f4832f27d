"""--against PATH, --against-ref GIT_REF, --against-settings MODULE: what side A is, checked before anything starts.

B is the project as it stands; A is another checkout, a git ref of this one (servebench makes a worktree
of it in its run directory), or another settings module. The two are measured in interleaved pairs of
one server configuration (measure/pairs.py), judged by judge/pairs.py.
"""

from __future__ import annotations

import importlib.util
import math
from argparse import ArgumentParser
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bench.judge.pairs import LEAST_PAIRS, MIN_PAIRS, MOST_PAIRS, SURE_PCT
from ..bench.servers.kinds import ServerConfig
from ..job import project
from ..job.gitref import GitRefError, resolve_ref
from .inputs import Refused

# Each pair runs on servers started for it (measure/pairs.py), so the pairs carry each instance's own offset
# (~±2 % here): a fixed 8 such pairs found a planted 3 % slowdown in 2 of 6 trials, 16 in 14 of 16, claiming
# a difference between identical code in 1 of 16 (benchmarks/ab_power.py, issue 24); 16 take ~85 s on a 2 ms
# view. Without --pairs, pairs run from LEAST_PAIRS until the r/s interval is narrow enough, at most MOST_PAIRS
# (judge/pairs.py): over 20 trials, 0 false alarms and the 3 % found 20 times, a median 20 pairs (12-32), ~105 s
# per A/B. --pairs N runs exactly N.
MAX_PAIRS = 200
# Without --server/--workers an A/B measures one configuration: one worker of the first WSGI server,
# so that the view (what a change usually touches) is what caps it.
DEFAULT_SERVER = "gunicorn"
DEFAULT_WORKERS = "1"


@dataclass(frozen=True)
class AgainstPlan:
    """Side A, validated: one of a checkout's directory, a commit (the ref resolved), a settings module."""

    kind: str  # "path", "ref" or "settings"
    value: str  # the directory, the ref as given, or the module
    pairs: int = LEAST_PAIRS
    most: int = MOST_PAIRS  # pairs == most: exactly that many (--pairs N)
    commit: str = ""  # --against-ref: the full hash it resolved to before anything started
    git_root: Path | None = None  # --against-ref: the repository's top level
    fail_if_slower_pct: float | None = None  # the CI gate: exit 1 when the whole r/s interval is beyond it

    @property
    def described(self) -> str:
        """What A is, as the reports say it."""
        if self.kind == "ref":
            return f"ref {self.value} ({self.commit[:10]})"
        return f"settings {self.value}" if self.kind == "settings" else f"checkout {self.value}"

    @property
    def counted(self) -> str:
        """How many pairs, as the progress says it: "16 pairs", "12 to 32 pairs (until r/s is known to ±1.25 %)"."""
        if self.pairs == self.most:
            return f"{self.pairs} pairs"
        return f"{self.pairs} to {self.most} pairs (until r/s is known to ±{SURE_PCT:g} %)"


def add_against_arguments(parser: ArgumentParser) -> None:
    """The A/B's options (--fail-if-slower is shared with --compare, in arguments.py)."""
    parser.add_argument("--against", metavar="PATH", help="measure against another checkout of the project (A)")
    parser.add_argument(
        "--against-ref", metavar="GIT_REF", help="measure against a git ref of this project (A), e.g. origin/main"
    )
    parser.add_argument("--against-settings", metavar="MODULE", help="measure against another settings module (A)")
    parser.add_argument(
        "--pairs",
        type=int,
        metavar="N",
        help=(
            "with --against*: exactly N interleaved pairs of windows, A B B A … (default: from"
            f" {LEAST_PAIRS} until the r/s interval is within ±{SURE_PCT:g} %, at most {MOST_PAIRS})"
        ),
    )


def chosen(options: Mapping[str, Any]) -> list[str]:
    """The --against options given."""
    return [name for name in ("against", "against_ref", "against_settings") if options.get(name) is not None]


def against_defaults(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with an A/B's defaults: one server, one worker count, unless given."""
    if not chosen(options):
        return dict(options)
    return {
        **options,
        "server": options.get("server") or [DEFAULT_SERVER],
        "workers": options.get("workers") or DEFAULT_WORKERS,
    }


def against_plan(options: Mapping[str, Any], job: str, configs: tuple[ServerConfig, ...]) -> AgainstPlan | None:
    """Side A as the options ask (None: no A/B); Refused in one line for anything that cannot run."""
    names = chosen(options)
    pairs = options.get("pairs")
    if not names:
        if pairs is not None:
            raise Refused("--pairs goes with --against, --against-ref or --against-settings")
        return None
    if len(names) > 1:
        given = " and ".join("--" + name.replace("_", "-") for name in names)
        raise Refused(f"{given}: give one side A, not {len(names)}")
    option = "--" + names[0].replace("_", "-")
    if job != "sweep":
        raise Refused(f"{option} measures two versions under load: it takes no --{job}")
    if pairs is not None and not MIN_PAIRS <= pairs <= MAX_PAIRS:
        raise Refused(f"--pairs must be between {MIN_PAIRS} (a 95 % interval needs them) and {MAX_PAIRS}, not {pairs}")
    count = {"pairs": LEAST_PAIRS, "most": MOST_PAIRS} if pairs is None else {"pairs": pairs, "most": pairs}
    if len(configs) != 1:
        labels = ", ".join(config.label for config in configs[:3]) + (", …" if len(configs) > 3 else "")
        raise Refused(
            f"{option} measures one server configuration, not {len(configs)} ({labels}): give one --server,"
            " one --workers count, one --front"
        )
    if options.get("concurrency") and "," in str(options["concurrency"]):
        raise Refused(f"{option} measures at one --concurrency, not a list")
    limit = options.get("fail_if_slower")
    if limit is not None and not (math.isfinite(limit) and 0 <= limit <= 1000):
        raise Refused(f"--fail-if-slower takes a percentage from 0 to 1000, not {limit:g}")
    value = str(options[names[0]])
    if names[0] == "against":
        return AgainstPlan("path", str(_checkout(value)), **count, fail_if_slower_pct=limit)
    if names[0] == "against_settings":
        return AgainstPlan("settings", _settings(value), **count, fail_if_slower_pct=limit)
    try:
        root, commit = resolve_ref(value, where=project.directory())
    except GitRefError as exc:
        raise Refused(f"--against-ref {value}: {exc}") from None
    return AgainstPlan("ref", value, **count, commit=commit, git_root=root, fail_if_slower_pct=limit)


def _checkout(text: str) -> Path:
    """--against PATH: a directory with the project's manage.py, not the project itself."""
    path = Path(text).expanduser().resolve()
    if not path.is_dir():
        raise Refused(f"--against {text}: not a directory")
    if path == project.directory().resolve():
        raise Refused(f"--against {text}: that is this project (B); give the other checkout (A)")
    if not (path / "manage.py").is_file():
        raise Refused(f"--against {text}: no manage.py there (give the other checkout's project directory)")
    return path


def _settings(module: str) -> str:
    """--against-settings MODULE: a dotted name this project's Python path can import, not B's own."""
    if not module.replace(".", "").replace("_", "").isalnum() or module.startswith(".") or ".." in module:
        raise Refused(f"--against-settings {module!r}: not a dotted module name")
    if module == project.settings_module():
        raise Refused(f"--against-settings {module}: that is the settings in use (B); give the other (A)")
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise Refused(f"--against-settings {module}: cannot be found ({type(exc).__name__})") from None
    if found is None:
        raise Refused(f"--against-settings {module}: no such module on the project's Python path")
    return module
