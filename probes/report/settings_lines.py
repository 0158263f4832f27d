"""The settings a suite ran with and the preflight warnings they raised, for every report; and what
differs between two results, for --compare (a DEBUG=True run against a DEBUG=False one is no fix)."""

from __future__ import annotations

from dataclasses import dataclass

from ..bench.judge.wording.writes import writes_line
from ..bench.model.metadata import ProjectSettings
from ..bench.model.results import Suite

# Django's own backends by their last name; a third-party one keeps its dotted path.
_DJANGO_PREFIXES = ("django.contrib.sessions.backends.", "django.core.cache.backends.")


def _short(dotted: str) -> str:
    if not dotted:
        return "none"
    if dotted.startswith(_DJANGO_PREFIXES):
        return dotted.rsplit(".", 1)[-1]
    return dotted


def _conn_max_age(ages: dict[str, int | None]) -> str:
    """'0' for one database, 'default 0, replica 60' for several; None: 'None (persistent)'."""
    texts = {alias: "None (persistent)" if age is None else str(age) for alias, age in ages.items()}
    if list(texts) == ["default"]:
        return texts["default"]
    return ", ".join(f"{alias} {text}" for alias, text in texts.items()) or "no database"


def _values(settings: ProjectSettings | None) -> dict[str, str]:
    """Each recorded setting as text, in the order the reports name them."""
    if settings is None:
        return {}
    return {
        "DEBUG": str(settings.debug),
        "CONN_MAX_AGE": _conn_max_age(settings.conn_max_age),
        "sessions": _short(settings.session_engine),
        "cache": _short(settings.cache_backend),
    }


def settings_lines(suite: Suite) -> list[str]:
    """'settings settings.bench: DEBUG False, ...', one line per preflight warning and one per target that
    writes; none when unrecorded."""
    lines = []
    if values := _values(suite.metadata.settings):
        shown = ", ".join(f"{name} {value}" for name, value in values.items())
        lines.append(f"settings {suite.metadata.settings_module}: {shown}")
    lines += [
        f"warning {warning['id']}: {warning['msg']}" + (f" (fix: {warning['hint']})" if warning.get("hint") else "")
        for warning in suite.preflight
    ]
    # What each target wrote in its one in-process request: the data later configurations ran on.
    lines += [line for writes in suite.metadata.writes if (line := writes_line(writes))]
    return lines


@dataclass(frozen=True)
class SettingDifference:
    """One setting that is not the same in A and B."""

    name: str
    a: str
    b: str

    def __str__(self) -> str:
        return f"{self.name}: {self.a} in A, {self.b} in B"


def _warning_ids(suite: Suite) -> set[str]:
    return {warning["id"] for warning in suite.preflight}


def setting_differences(a: Suite, b: Suite) -> tuple[SettingDifference, ...]:
    """The recorded settings that differ between A and B (DEBUG first), the settings module, the warnings."""
    values_a, values_b = _values(a.metadata.settings), _values(b.metadata.settings)
    differences = []
    if values_a or values_b:
        for name in dict.fromkeys([*values_a, *values_b]):
            va, vb = values_a.get(name, "not recorded"), values_b.get(name, "not recorded")
            if va != vb:
                differences.append(SettingDifference(name, va, vb))
    if a.metadata.settings_module != b.metadata.settings_module:
        differences.append(SettingDifference("settings module", a.metadata.settings_module, b.metadata.settings_module))
    raised_a, raised_b = _warning_ids(a), _warning_ids(b)
    differences += [
        SettingDifference(
            f"warning {name}",
            "raised" if name in raised_a else "not raised",
            "raised" if name in raised_b else "not raised",
        )
        for name in sorted(raised_a ^ raised_b)
    ]
    return tuple(differences)
