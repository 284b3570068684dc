"""Pictures drawn from the test Prometheus: a dashboard laid out like Grafana (its own
queries, plotted with matplotlib) and each alert's signal around the fault that fired it.

Only the tests call this (`make pictures` keeps the results in docs/img).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display here, and none needed

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

GRID_COLUMNS = 24
ROW_INCHES = 0.36  # one Grafana grid unit (30 px) of height
STATE_COLOURS = {"pending": "#f2cc0c", "firing": "#e02f44"}


@dataclass
class Series:
    label: str
    times: list[float]  # seconds relative to the picture's zero
    values: list[float]


# Labels every series of a target has: left out of a legend that names none.
TARGET_LABELS = {"__name__", "namespace", "service", "container", "endpoint", "job", "instance"}


def legend(fmt: str | None, labels: dict[str, str], fallback: str) -> str:
    if not fmt:
        inner = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in TARGET_LABELS)
        return inner or fallback
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def to_series(
    result: list[dict[str, Any]],
    fmt: str | None,
    zero: float,
    *,
    grid: tuple[float, float, float] | None = None,
) -> list[Series]:
    """A query_range result as series with times relative to ``zero``; with ``grid``
    (start, end, step) every step is present, NaN where the series has no point, so that
    a gap is drawn as a gap."""
    out = []
    for item in result:
        points = {}
        for at, raw in item.get("values", []):
            value = float(raw)
            points[round(float(at), 3)] = value if math.isfinite(value) else math.nan
        if grid is None:
            times = [t - zero for t in points]
            values = list(points.values())
        else:
            start, end, step = grid
            steps = round((end - start) / step) + 1
            instants = [round(start + i * step, 3) for i in range(steps)]
            times = [t - zero for t in instants]
            values = [points.get(t, math.nan) for t in instants]
        out.append(Series(legend(fmt, item.get("metric", {}), "value"), times, values))
    return out


def _format(value: float, unit: str | None) -> str:
    if math.isnan(value):
        return "No data"
    if unit == "percentunit":
        return f"{value * 100:.1f} %"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "ops":
        return f"{value:.2f}/s"
    return f"{value:.3g}"


def _unit_label(unit: str | None) -> str:
    return {"ops": "per second", "s": "seconds", "percentunit": "ratio"}.get(unit or "", "")


def _zero_based(ax: Axes, series: list[Series]) -> None:
    """Grafana's default: a non-negative axis starts at 0, and a flat line is not zoomed in."""
    finite = [v for s in series for v in s.values if not math.isnan(v)]
    if finite and min(finite) >= 0:
        ax.set_ylim(bottom=0, top=max(finite) * 1.15 or 1)


def _timeseries(ax: Axes, panel: dict[str, Any], series: list[Series]) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    for s in series:
        ax.plot(s.times, s.values, linewidth=1.4, label=s.label or "value")
    if not series:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
    _zero_based(ax, series)
    ax.set_ylabel(_unit_label(unit), fontsize=8)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)
    if series:
        ax.legend(fontsize=6.5, loc="upper left", frameon=False, ncol=2)


def _stat(ax: Axes, panel: dict[str, Any], series: list[Series]) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    last = math.nan
    for s in series:
        finite = [v for v in s.values if not math.isnan(v)]
        if finite:
            last = finite[-1]
    ax.text(0.5, 0.45, _format(last, unit), ha="center", va="center", fontsize=22, weight="bold")
    ax.set_xticks([])
    ax.set_yticks([])


def render_dashboard(
    dashboard: dict[str, Any],
    series_by_panel: dict[int, list[Series]],
    path: Path,
    *,
    subtitle: str,
) -> None:
    """The dashboard's panels where Grafana's gridPos puts them."""
    panels = dashboard["panels"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(16, height * ROW_INCHES + 0.8))
    top = 1 - 0.8 / (height * ROW_INCHES + 0.8)
    fig.suptitle(f"{dashboard['title']} — {subtitle}", x=0.01, ha="left", fontsize=12)
    for panel in panels:
        g = panel["gridPos"]
        left, width = g["x"] / GRID_COLUMNS, g["w"] / GRID_COLUMNS
        bottom = top * (1 - (g["y"] + g["h"]) / height)
        box = top * g["h"] / height
        if panel["type"] == "row":
            fig.text(left + 0.005, bottom + box / 2, panel["title"], fontsize=11, weight="bold")
            continue
        ax = fig.add_axes((left + 0.035, bottom + 0.025 * top, width - 0.045, box - 0.06 * top))
        ax.set_title(panel.get("title", ""), fontsize=9, loc="left")
        series = series_by_panel.get(panel["id"], [])
        if panel["type"] == "stat":
            _stat(ax, panel, series)
        else:
            _timeseries(ax, panel, series)
            if panel["gridPos"]["y"] + panel["gridPos"]["h"] == height:
                ax.set_xlabel("seconds into the run", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


@dataclass
class Comparison:
    expr: str
    op: str
    threshold: float | None
    series: list[Series]


def _spans(times: list[float], values: list[float]) -> Iterable[tuple[float, float]]:
    start = None
    for t, v in zip(times, values, strict=True):
        if not math.isnan(v) and start is None:
            start = t
        if math.isnan(v) and start is not None:
            yield start, t
            start = None
    if start is not None and times:
        yield start, times[-1]


def render_alert(
    alert: str,
    comparisons: list[Comparison],
    states: dict[str, Series],
    fault: tuple[float, float],
    path: Path,
    *,
    subtitle: str,
) -> None:
    """One panel per comparison of the alert's expression (its threshold dashed), the
    pending and firing periods shaded, the fault's start and end marked."""
    fig, axes = plt.subplots(
        len(comparisons), 1, figsize=(9, 2.1 * len(comparisons) + 0.9), sharex=True, squeeze=False
    )
    fig.suptitle(f"{alert}\n{subtitle}", x=0.01, ha="left", fontsize=10)
    for ax, comparison in zip(axes[:, 0], comparisons, strict=True):
        for s in comparison.series:
            ax.plot(s.times, s.values, linewidth=1.4, label=s.label)
        if comparison.threshold is not None:
            ax.axhline(comparison.threshold, linestyle="--", color="grey", linewidth=1)
        for state, series in states.items():
            for start, end in _spans(series.times, series.values):
                ax.axvspan(start, end, color=STATE_COLOURS[state], alpha=0.18, linewidth=0)
        for edge in fault:
            ax.axvline(edge, color="black", linewidth=0.8, linestyle=":")
        threshold = "…" if comparison.threshold is None else f"{comparison.threshold:g}"
        title = textwrap.fill(f"{comparison.expr}  {comparison.op} {threshold}", width=125)
        ax.set_title(title, fontsize=7, loc="left")
        if comparison.threshold is not None:
            _zero_based(ax, [*comparison.series, Series("", [0], [comparison.threshold])])
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        if comparison.series:
            ax.legend(fontsize=6.5, loc="upper left", frameon=False)
        else:
            ax.text(0.5, 0.5, "no series", ha="center", va="center", transform=ax.transAxes)
    axes[-1, 0].set_xlabel(
        "seconds from the fault (dotted: fault starts, is repaired; yellow: pending, red: firing)",
        fontsize=8,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
