"""Goal-conflict matrix: how much more or less often two goals hold together than if
they were independent, over plausible futures; significant conflicts marked."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..analyze import reachability
from ..present import labels
from . import style


def conflict_ratios(data: xr.Dataset) -> xr.DataArray:
    """P(A and B) / (P(A) P(B)) for every pair of goals (undefined, NaN, when a goal always
    or never holds, or no run counts); ``data`` holds ``met`` ``(run, goal)`` and optionally
    ``plausible``."""
    met = data["met"].values.astype(bool)
    if "plausible" in data:
        met = met[data["plausible"].values.astype(bool)]
    n = max(met.shape[0], 1)  # no run: p = 0, every ratio undefined
    p = met.sum(axis=0) / n
    both = (met[:, :, None] & met[:, None, :]).sum(axis=0) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = both / np.outer(p, p)
    defined = (p > 0) & (p < 1)
    ratio[~(defined[:, None] & defined[None, :])] = np.nan
    np.fill_diagonal(ratio, np.nan)  # a goal with itself says nothing
    goals = [str(g) for g in data["goal"].values]
    return xr.DataArray(ratio, dims=("goal", "other"), coords={"goal": goals, "other": goals})


def conflicts(data: xr.Dataset, goal_set=None, lang: str = "en", title: str | None = None):
    """Matrix of log2 ratios (purple: hold together less often; orange: more often);
    × marks pairs a one-sided Fisher test puts below p = 0.01; with no plausible run, the
    words "no plausible future (n/a)"."""
    style.use(lang)
    if "plausible" in data and not data["plausible"].values.astype(bool).any():
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, labels.text("no_plausible_future", lang), ha="center", va="center",
                color="dimgrey")
        ax.set_axis_off()
        ax.set_title(title or labels.text("conflict_title", lang), fontsize=10)
        return fig
    ratio = conflict_ratios(data)
    keep = [i for i in range(ratio.sizes["goal"]) if np.isfinite(ratio.values[i]).any()]
    ratio = ratio.isel(goal=keep, other=keep)
    goals = [str(g) for g in ratio["goal"].values]
    names = [labels.goal_by_id(g, goal_set, lang) if goal_set else g for g in goals]
    with np.errstate(divide="ignore"):
        shown = np.log2(ratio.values)
    limit = max(1.0, float(np.nanmax(np.abs(np.where(np.isfinite(shown), shown, np.nan))))
                if np.isfinite(shown).any() else 1.0)
    size = 0.35 * len(goals) + 3
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    cmap = plt.get_cmap(style.DIVERGING).with_extremes(bad="#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=-limit, vmax=limit)
    met = {"met": data["met"], "joint": data["met"].all("goal")}
    summary = reachability.summarize(xr.Dataset(met), data.get("plausible"))
    index = {g: i for i, g in enumerate(goals)}
    for c in summary["conflicts"]:
        a, b = c["goals"]
        if a in index and b in index:
            for i, j in ((index[a], index[b]), (index[b], index[a])):
                ax.text(j, i, "×", ha="center", va="center", fontsize=9, color="black")
    ax.set_xticks(range(len(goals)), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(goals)), names, fontsize=7)
    bar = fig.colorbar(im, ax=ax, shrink=0.7)
    bar.set_label("log2 " + labels.text("conflict_axis", lang), fontsize=7)
    ax.set_title(title or labels.text("conflict_title", lang), fontsize=10)
    return fig
