"""The architecture, checked: every module of probes belongs to a part, and no import crosses a never.

The nevers (DESIGN.md): the engine (probes/bench) imports no Django, nothing of the cli, the job,
the worker, the reports nor the app's top-level modules; only bench/contract.py names the worker's
modules (in strings: the servers are started with them); the reports and the cli start nothing.
An import is any `import` or `from … import` in the module, at its top or inside a function, and a
string literal that names a module ("probes.worker.wsgi:application", "-m probes.…"). Read from the
source with ast: nothing is imported to check it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import probes

PROBES_DIR = Path(probes.__file__).parent

# The app's top-level modules (Django's side: settings, URLs, views, checks, the toolbar panel).
APP_MODULES = frozenset({"apps", "catalog", "checks", "conf", "panels", "urls", "views"})
ENGINE_ROOMS = frozenset({"model", "processes", "servers", "loadgen", "measure", "timing", "judge"})
GLUE_PARTS = frozenset({"cli", "job", "worker", "report", "management"})
ENGINE_FORBIDS = GLUE_PARTS | {"app"}
# What starts a process or opens a socket; the reports and the cli import none of it.
STARTING_STDLIB = frozenset({"subprocess", "socket", "multiprocessing"})
STARTING_ROOMS = frozenset({"processes", "servers", "measure", "loadgen"})
STARTING_OS_CALLS = frozenset({"fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp", "spawnv", "execv"})
# Modules of those rooms that start nothing: descriptions the cli builds its plan from, and the
# check of a path the cli refuses to write over. Each is checked to import nothing that starts.
STARTS_NOTHING = frozenset(
    {
        "probes.bench.servers.argv",
        "probes.bench.servers.kinds",
        "probes.bench.loadgen.model",
        "probes.bench.loadgen.plan",
        "probes.bench.loadgen.requests",
        "probes.bench.loadgen.hosts",
        "probes.bench.loadgen.locust.setup",
        "probes.bench.processes.files",
    }
)
# The one engine module that names the worker's modules.
NAMES_THE_WORKER = "probes.bench.contract"


_MODULE_STRING = re.compile(r"^(?:-m )?(probes(?:\.[A-Za-z_]\w*)+)(?::[\w.]+)?$")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROBES_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str | None:
    """The part a probes module belongs to, None for one no part claims."""
    names = module.split(".")
    if names[0] != "probes":
        return None
    if len(names) == 1:
        return "package"  # probes/__init__.py: the version, nothing else
    if names[1] in APP_MODULES and len(names) == 2:
        return "app"
    if names[1] in GLUE_PARTS:
        return names[1]
    if names[1] == "bench":
        if len(names) == 2 or names[2] == "contract":
            return "bench"
        if names[2] in ENGINE_ROOMS:
            return names[2]
    return None


@dataclass(frozen=True)
class Reference:
    """One module a module uses: imported, or named in a string."""

    module: str
    line: int
    target: str
    how: str  # "import" or "string"


def _modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PROBES_DIR.rglob("*.py"))}


MODULES = _modules()


def references(module: str, source: str, *, is_package: bool = False) -> Iterator[Reference]:
    """Every import (top-level or in a function) and every string naming a probes module."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Reference(module, node.lineno, alias.name, "import")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield Reference(module, node.lineno, base, "import")
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:  # `from . import project`: the module itself
                    yield Reference(module, node.lineno, f"{base}.{alias.name}", "import")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _MODULE_STRING.match(node.value)
            if match:
                yield Reference(module, node.lineno, match.group(1), "string")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in STARTING_OS_CALLS
        ):
            yield Reference(module, node.lineno, f"os.{node.attr}", "import")


def _starts(target: str) -> bool:
    root = target.split(".")[0]
    if root in STARTING_STDLIB or target.startswith("os."):
        return True
    return part_of(target) in STARTING_ROOMS and target not in STARTS_NOTHING


def crossing(ref: Reference) -> str | None:
    """The never `ref` crosses, None when it crosses none."""
    source, target = part_of(ref.module), part_of(ref.target)
    if source in ENGINE_ROOMS or source == "bench":
        if ref.target.split(".")[0] == "django":
            return "the engine imports no Django"
        if target == "worker" and ref.how == "string" and ref.module == NAMES_THE_WORKER:
            return None
        if target in ENGINE_FORBIDS:
            return f"the engine uses nothing of the {target}"
    if source in ("report", "cli") and _starts(ref.target):
        return f"the {source} starts nothing"
    if ref.module in STARTS_NOTHING and _starts(ref.target):
        return "a module said to start nothing imports what starts"
    return None


def _all_references() -> list[Reference]:
    return [
        ref
        for module, path in MODULES.items()
        for ref in references(module, path.read_text(), is_package=path.name == "__init__.py")
    ]


def test_every_module_belongs_to_a_part() -> None:
    orphans = sorted(module for module in MODULES if part_of(module) is None)
    assert not orphans, "modules no part claims (add them to a part in this test): " + ", ".join(orphans)


def test_the_modules_said_to_start_nothing_exist() -> None:
    assert set(MODULES) >= STARTS_NOTHING
    assert NAMES_THE_WORKER in MODULES


def test_no_import_crosses_a_never() -> None:
    found = {(ref, why) for ref in _all_references() if (why := crossing(ref))}
    offending = sorted((ref.module, ref.line, ref.target, ref.how, why) for ref, why in found)
    lines = [f"  {module}:{line} {how}s {target}: {why}" for module, line, target, how, why in offending]
    assert not lines, "imports that cross a never:\n" + "\n".join(lines)


def test_the_checker_sees_each_kind_of_crossing() -> None:
    # A function-level import, a relative import and a module named in a string, each seen.
    source = (
        "from ...report import terminal\n"
        "def f():\n    import subprocess\n    from django.conf import settings\n"
        "ENTRY = 'probes.worker.wsgi:application'\n"
    )
    whys = {(ref.target, crossing(ref)) for ref in references("probes.bench.servers.example", source)}
    assert ("probes.report", "the engine uses nothing of the report") in whys
    assert ("django.conf", "the engine imports no Django") in whys
    assert ("probes.worker.wsgi", "the engine uses nothing of the worker") in whys
    assert crossing(Reference("probes.cli.plan", 1, "subprocess", "import")) == "the cli starts nothing"
    assert crossing(Reference("probes.report.html", 1, "probes.bench.servers.stack", "import")) is not None
    assert crossing(Reference("probes.cli.plan", 1, "probes.bench.servers.kinds", "import")) is None
