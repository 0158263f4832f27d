"""The HTML report: one self-contained page (inline CSS and SVG, no script, no network) drawn by Jinja2."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ..bench.model.results import Run, Suite
from ..bench.model.summary import PERCENTILES
from .comparisons import comparisons
from .lines import Section, command_line, machine_line, memory_model_lines, memory_model_name, sections
from .pairs_lines import pair_rows, pair_table, pairs_lines
from .settings_lines import settings_lines

# Beside this module, not in probes/templates: Django's loaders (APP_DIRS) and django-compressor scan that
# directory and would parse this Jinja2 template as a Django one ("Invalid block tag: '-'").
TEMPLATES = Path(__file__).resolve().parent / "templates"
LABEL_W = 230  # px left of a bar chart's plot, for the configuration names
PLOT_W = 620
ROW_H = 22


@dataclass(frozen=True)
class Bar:
    """One rectangle of a bar chart, in plot coordinates (px)."""

    x: float
    y: float
    width: float
    height: float
    css: str  # its colour class (a role, a percentile, the rate)
    title: str  # the exact figure, shown on hover


@dataclass(frozen=True)
class Row:
    label: str
    y: float  # the row's top
    bars: tuple[Bar, ...]
    whisker: tuple[float, float] | None = None  # min and max, x in px
    value: str = ""  # the figure written after the bars
    value_x: float = 0.0  # where the bars (and the whisker) end


@dataclass(frozen=True)
class Tick:
    at: float  # px along the axis
    text: str


@dataclass(frozen=True)
class BarChart:
    title: str
    unit: str
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]  # (css class, name)
    height: float


def nice_ticks(top: float, *, count: int = 5) -> list[float]:
    """0 and round steps (1, 2 or 5 x 10^k) up to at least `top`."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def bar_chart(
    title: str, unit: str, rows: list[tuple[str, list[tuple[float, str, str]], tuple[float, float] | None]]
) -> BarChart:
    """Horizontal bars, one row per label; a row's values are stacked when `stacked` is in their classes."""
    legend: dict[str, str] = {}
    top = 0.0
    for _, values, whisker in rows:
        stacks = sum(v for v, css, _ in values if css.startswith("role-"))
        top = max(top, stacks, *(v for v, _, _ in values), whisker[1] if whisker else 0.0)
    ticks = nice_ticks(top)
    scale = PLOT_W / ticks[-1]
    built = []
    for index, (label, values, whisker) in enumerate(rows):
        y = index * ROW_H
        stacked = all(css.startswith("role-") for _, css, _ in values)
        bars, x = [], 0.0
        height = (ROW_H - 6) / (1 if stacked else max(len(values), 1))
        for position, (value, css, name) in enumerate(values):
            legend.setdefault(css, name)
            top_y = y + 3 + (0 if stacked else position * height)
            bars.append(Bar(x * scale, top_y, value * scale, height, css, f"{name}: {_number(value)} {unit}"))
            if stacked:
                x += value
        total = sum(v for v, _, _ in values) if stacked else max((v for v, _, _ in values), default=0.0)
        end = max(total, whisker[1] if whisker else 0.0) * scale
        built.append(
            Row(
                label=label,
                y=y,
                bars=tuple(bars),
                whisker=(whisker[0] * scale, whisker[1] * scale) if whisker else None,
                value=_number(total),
                value_x=end,
            )
        )
    return BarChart(
        title=title,
        unit=unit,
        rows=tuple(built),
        ticks=tuple(Tick(t * scale, _number(t)) for t in ticks),
        legend=tuple(legend.items()),
        height=len(rows) * ROW_H,
    )


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: tuple[tuple[float, float, str], ...]  # x, y in px and the figure
    line: tuple[float, float, float, float] | None  # the fitted line's ends, px
    fit_text: str


@dataclass(frozen=True)
class ScatterChart:
    title: str
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: float
    height: float


def memory_chart(suite: Suite) -> ScatterChart | None:
    """Total PSS (MB) against workers, a point per run and the fitted line per server kind."""
    all_series = suite.memory_models
    if not all_series:
        return None
    width, height = 560.0, 260.0
    x_ticks = nice_ticks(max(w for s in all_series for w, _ in s.points), count=4)
    y_ticks = nice_ticks(max(b for s in all_series for _, b in s.points) / 1e6 * 1.1)
    sx, sy = width / x_ticks[-1], height / y_ticks[-1]
    built = []
    for index, series in enumerate(all_series):
        points = tuple((w * sx, height - b / 1e6 * sy, f"{w} workers: {b / 1e6:.1f} MB") for w, b in series.points)
        line, fit_text = None, "one worker count: no line"
        if series.fit is not None:
            fit, last = series.fit, x_ticks[-1]
            end_mb = (fit.base_bytes + fit.per_worker_bytes * last) / 1e6
            line = (0.0, height - fit.base_bytes / 1e6 * sy, last * sx, height - end_mb * sy)
            base_mb, per_worker_mb = fit.base_bytes / 1e6, fit.per_worker_bytes / 1e6
            fit_text = f"{base_mb:.1f} MB + {per_worker_mb:.1f} MB × workers (r² {fit.r2:.2f})"
        built.append(Series(memory_model_name(series), f"series-{index % 6}", points, line, fit_text))
    return ScatterChart(
        title="Total PSS vs workers, with the fitted line",
        series=tuple(built),
        x_ticks=tuple(Tick(t * sx, f"{t:g}") for t in x_ticks),
        y_ticks=tuple(Tick(height - t * sy, f"{t:g}") for t in y_ticks),
        width=width,
        height=height,
    )


@dataclass(frozen=True)
class Page:
    """One URL: its charts and the why lines of its configurations."""

    path: str
    notes: tuple[str, ...]  # t0, the wrapper's cost
    charts: tuple[BarChart, ...]
    verdicts: tuple[tuple[str, str, str], ...]  # name, quality, verdict
    why: tuple[str, ...]
    flames: tuple[Flame, ...] = ()  # one per profiled configuration (--profile)


@dataclass(frozen=True)
class Box:
    """One function of a flame graph, in px."""

    x: float
    y: float
    width: float
    css: str  # its kind: kind-view, kind-database, ...
    text: str  # the name, when it fits
    title: str  # name and share, on hover


@dataclass(frozen=True)
class Flame:
    title: str
    boxes: tuple[Box, ...]
    height: float
    file: str  # the speedscope file (speedscope.app opens it)


FLAME_W = LABEL_W + PLOT_W
FLAME_ROW_H = 17
CHAR_W = 6.5  # px per character of the 11 px label font, to cut a name that does not fit


def flame(run: Run) -> Flame | None:
    """The run's profile as an icicle graph (root on top): each box a function, its width its share."""
    profile = run.profile
    if profile is None or not profile.flame:
        return None
    boxes = []
    for node in profile.flame:
        width = node.width * FLAME_W
        fits = int(width / CHAR_W) - 1
        text = node.function if len(node.function) <= fits else (node.function[: fits - 1] + "…" if fits > 3 else "")
        kind = "view" if node.kind == "project" else node.kind
        title = f"{node.function} ({node.kind}): {100 * node.width:.1f} % of the samples"
        boxes.append(Box(node.start * FLAME_W, node.depth * FLAME_ROW_H, width, f"kind-{kind}", text, title))
    depth = max(node.depth for node in profile.flame) + 1
    depth_cap = profile.flame_cut_at
    cut = f"; drawn from the project's first frame: stacks deeper than {depth_cap} frames" if depth_cap else ""
    return Flame(
        f"Profile of {run.label} (py-spy, {profile.samples:,} samples{cut})",
        tuple(boxes),
        depth * FLAME_ROW_H,
        profile.flamegraph,
    )


def _page(section: Section) -> Page:
    runs = section.runs
    rps = bar_chart(
        "Requests per second (median of the repeats; whisker: min–max)",
        "r/s",
        [
            (run.label, [(run.summary.rps.median, "rate", "r/s")], (run.summary.rps.low, run.summary.rps.high))
            for run in runs
        ],
    )
    cpu = bar_chart(
        "CPU per request by role (µs)",
        "µs",
        [
            (run.label, [(us, f"role-{role}", role) for role, us in run.summary.cpu_us_per_request.items()], None)
            for run in runs
        ],
    )
    latency = bar_chart(
        "Latency p50 / p90 / p99 (ms)",
        "ms",
        [(run.label, [(run.summary.latency_ms[p], p, p) for p in PERCENTILES], None) for run in runs],
    )
    return Page(
        path=section.path,
        notes=tuple(section.notes),
        charts=(rps, cpu, latency),
        verdicts=tuple((run.label, run.quality, run.verdict or "-") for run in runs),
        why=tuple(line.strip() for line in section.why + section.trends + section.qualities),
        flames=tuple(chart for run in runs if (chart := flame(run)) is not None),
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


def html_report(suite: Suite) -> str:
    """The suite as one HTML page that opens offline."""
    template = _environment().get_template("report.html")
    return template.render(
        machine=machine_line(suite),
        command=command_line(suite),
        settings=settings_lines(suite),
        metadata=suite.metadata,
        sections=[_page(section) for section in sections(suite)],
        memory=memory_chart(suite),
        models=memory_model_lines(suite),
        comparisons=comparisons(suite),
        pairs=pairs_lines(suite),  # --against*: the A/B and its pairs in time order
        pair_table=pair_table(pair_rows(suite)),
        notes=suite.notes,
        label_w=LABEL_W,
        plot_w=PLOT_W,
    )
