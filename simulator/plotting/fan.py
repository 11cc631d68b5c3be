"""Fan chart of one indicator over time: ensemble quantiles, history and goal thresholds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from .. import goals as goals_mod
from .. import history
from ..project import Project, find


def fan(data: xr.Dataset, indicator: str, goal_set: goals_mod.GoalSet | None = None,
        project: Project | None = None, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95),
        title: str | None = None):
    """Quantile bands of ``indicator`` over plausible runs, the project's history
    figures as points, and the level goals on it as markers at their years."""
    project = find() if project is None else project
    meta = project.indicators[indicator]
    values = data[indicator]
    if "plausible" in data:
        values = values.isel(run=np.flatnonzero(data["plausible"].values.astype(bool)))
    q = values.quantile(list(quantiles), dim="run")
    t = values["time"].values
    fig, ax = plt.subplots(figsize=(7, 4))
    n = len(quantiles)
    for i in range(n // 2):
        ax.fill_between(t, q.isel(quantile=i), q.isel(quantile=n - 1 - i), color="#4C72B0",
                        alpha=0.2 + 0.2 * i, lw=0,
                        label=f"{int(100 * quantiles[i])}-{int(100 * quantiles[n - 1 - i])}%")
    if n % 2:
        ax.plot(t, q.isel(quantile=n // 2), color="#1f3b73", lw=1.5, label="median")
    figs = [f for f in history.figures(project)
            if f.indicator == indicator and f.comparator == "="]
    if figs:
        years = sorted({f.year for f in figs})
        ax.plot([f.year for f in figs], [f.value for f in figs], "ko", ms=4,
                label=f"plan's figures ({', '.join(map(str, years))})")
    for g in (goal_set.goals if goal_set else []):
        if g.indicator == indicator and g.measure == "level":
            ax.plot(g.years, [g.threshold] * len(g.years), "r_", ms=14, mew=2)
            ax.annotate(f"goal {g.comparator} {g.threshold:g}", (g.years[-1], g.threshold),
                        textcoords="offset points", xytext=(6, 0), color="red", fontsize=8,
                        va="center")
    ax.axvline(project.history_settings.years[-1] + 0.5, color="grey", lw=0.6, ls=":")
    ax.set_ylabel(f"{indicator} ({meta.unit})")
    ax.set_title(title or f"{meta.description}: "
                 f"{values.sizes['run']} plausible futures", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig
