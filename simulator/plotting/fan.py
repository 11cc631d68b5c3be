"""Fan chart of one indicator over time: ensemble quantiles, history and goal thresholds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..inputs import goals as goals_mod
from ..inputs import history
from ..inputs.project import Project, find
from ..present import labels
from . import style


def fan(data: xr.Dataset, indicator: str, goal_set: goals_mod.GoalSet | None = None,
        project: Project | None = None, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95),
        title: str | None = None, lang: str = "en"):
    """Quantile bands of ``indicator`` over plausible runs, the project's history
    figures as points, and the level goals on it as markers at their years. With no
    plausible run there are no bands: the chart says "no plausible future (n/a)"."""
    style.use(lang)
    project = find() if project is None else project
    values = data[indicator]
    if "plausible" in data and "run" in values.dims:
        values = values.isel(run=np.flatnonzero(data["plausible"].values.astype(bool)))
    if "run" not in values.dims:
        values = values.expand_dims(run=[0])
    t = values["time"].values
    fig, ax = plt.subplots(figsize=(7, 4))
    n = len(quantiles) if values.sizes["run"] else 0
    if n:
        q = values.quantile(list(quantiles), dim="run")
    else:
        ax.text(0.5, 0.5, labels.text("no_plausible_future", lang), transform=ax.transAxes,
                ha="center", va="center", color="dimgrey")
        ax.set_xlim(t[0], t[-1])
    blue = style.PALETTE["blue"]
    for i in range(n // 2):
        ax.fill_between(t, q.isel(quantile=i), q.isel(quantile=n - 1 - i), color=blue,
                        alpha=0.15 + 0.2 * i, lw=0,
                        label=f"{int(100 * quantiles[i])}–{int(100 * quantiles[n - 1 - i])}%")
    if n % 2:
        ax.plot(t, q.isel(quantile=n // 2), color=blue, lw=1.8,
                label=labels.text("median", lang))
    figs = [f for f in history.figures(project)
            if f.indicator == indicator and f.comparator == "="]
    if figs:
        years = ", ".join(str(y) for y in sorted({f.year for f in figs}))
        ax.plot([f.year for f in figs], [f.value for f in figs], "o", color="black", ms=4,
                label=labels.text("plan_figures", lang, years=years))
    red = style.PALETTE["vermillion"]
    for g in (goal_set.goals if goal_set else []):
        if g.indicator == indicator and g.measure == "level":
            ax.plot(g.years, [g.threshold] * len(g.years), "_", color=red, ms=14, mew=2.5)
            comp = "≈" if g.comparator == "approx" else g.comparator.replace(">=", "≥").replace(
                "<=", "≤")
            ax.annotate(f"{labels.text('goal', lang)} {comp} {g.threshold:g}",
                        (g.years[-1], g.threshold), textcoords="offset points", xytext=(6, 0),
                        color=red, fontsize=8, va="center")
    ax.axvline(project.history_settings.years[-1] + 0.5, color="grey", lw=0.6, ls=":")
    name, unit = labels.indicator(indicator, lang, project), labels.unit(indicator, lang, project)
    ax.set_ylabel(f"{name}（{unit}）" if lang == "zh" else f"{name} ({unit})", fontsize=9)
    ax.set_xlabel(labels.text("year", lang))
    ax.set_title(title or labels.text("fan_title", lang, label=name, n=values.sizes["run"]),
                 fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig
