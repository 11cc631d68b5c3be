"""Two-lever reachability map, from a sweep's ``summary.json``: the joint probability
(or a goal's probability, or the mean number of goals met) over a grid of two levers,
with the plan's setting marked."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..present import labels
from . import style


def lever_map(summary: dict, plan_setting: dict[str, float] | None = None,
              levers: tuple[str, str] | None = None, value: str = "joint",
              goal_set=None, lang: str = "en", title: str | None = None):
    """Heatmap of ``value`` (``joint``, ``goals_met_mean`` or a goal id) per setting of two
    swept levers (default: the first two); other swept levers are averaged over."""
    style.use(lang)
    names = list(levers or summary["levers"][:2])
    if len(names) != 2 or any(n not in summary["levers"] for n in names):
        raise ValueError(f"a lever map needs two swept levers; the sweep has {summary['levers']}")
    rows = summary["results"]

    def of(row):
        if value == "joint":
            return row["joint_probability"]["value"]
        if value == "goals_met_mean":
            return row["goals_met_mean"]
        return row["goals"][value]

    xs = sorted({r["levers"][names[0]] for r in rows})
    ys = sorted({r["levers"][names[1]] for r in rows})
    sums = np.zeros((len(ys), len(xs)))
    counts = np.zeros((len(ys), len(xs)))
    for r in rows:
        v = of(r)
        if v is None:
            continue
        i, j = ys.index(r["levers"][names[1]]), xs.index(r["levers"][names[0]])
        sums[i, j] += v
        counts[i, j] += 1
    with np.errstate(invalid="ignore"):
        grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    percent = value != "goals_met_mean"
    shown = 100 * grid if percent else grid
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    cmap = plt.get_cmap(style.SEQUENTIAL).with_extremes(bad="#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(shown), origin="lower", cmap=cmap, aspect="auto",
                   vmin=0, vmax=100 if percent else None)
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(shown[i, j]):
                ax.text(j, i, f"{shown[i, j]:.0f}" if percent else f"{shown[i, j]:.1f}",
                        ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] < np.nanmax(shown) * 0.6 else "black")
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    ax.set_xlabel(labels.parameter(names[0], lang))
    ax.set_ylabel(labels.parameter(names[1], lang))
    if plan_setting and all(n in plan_setting for n in names):
        px = np.interp(plan_setting[names[0]], xs, range(len(xs)))
        py = np.interp(plan_setting[names[1]], ys, range(len(ys)))
        ax.plot(px, py, marker="*", ms=16, color=style.PALETTE["vermillion"],
                markeredgecolor="black", ls="none", label=labels.text("plan_setting", lang))
        ax.legend(loc="upper right", fontsize=8)
    if value == "joint":
        bar_label = labels.text("joint_probability", lang)
    elif value == "goals_met_mean":
        bar_label = labels.text("goals_met_mean", lang)
    else:
        bar_label = f"{labels.goal_by_id(value, goal_set, lang)} (%)"
    fig.colorbar(im, ax=ax, label=bar_label)
    ax.set_title(title or (labels.text("lever_map_title", lang) if value == "joint" else
                           labels.text("lever_map_value_title", lang, label=bar_label)),
                 fontsize=10)
    return fig
