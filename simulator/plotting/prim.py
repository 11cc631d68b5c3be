"""PRIM charts from :func:`simulator.analyze.discovery.prim_box`: the peeling trade-off
(coverage against density) and the chosen box's limits on each restricted input."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..present import labels
from . import style


def _label(box: dict, goal_set, lang: str) -> str:
    goals = box.get("goals")
    if goals in (None, "all") or not goals:
        return labels.text("all_goals", lang)
    return "、".join(labels.goal_by_id(g, goal_set, lang) for g in goals) if lang == "zh" \
        else "; ".join(labels.goal_by_id(g, goal_set, lang) for g in goals)


def prim_tradeoff(box: dict, goal_set=None, lang: str = "en", title: str | None = None):
    """Coverage (x) against density (y) along the peeling trajectory; the chosen box marked."""
    style.use(lang)
    traj = box.get("trajectory")
    if not traj:
        raise ValueError(box.get("note", "the box has no peeling trajectory"))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(traj["coverage"], traj["density"], "-o", ms=3, color=style.PALETTE["blue"])
    k = traj["chosen"]
    ax.plot(traj["coverage"][k], traj["density"][k], "*", ms=16,
            color=style.PALETTE["vermillion"], markeredgecolor="black",
            label=labels.text("chosen_box", lang))
    ax.axhline(box["base_rate"], color="grey", ls=":", lw=0.8)
    ax.set_xlabel(labels.text("coverage", lang), fontsize=8)
    ax.set_ylabel(labels.text("density", lang), fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or labels.text("prim_tradeoff_title", lang) + "\n"
                 + _label(box, goal_set, lang), fontsize=9)
    return fig


def prim_limits(box: dict, goal_set=None, lang: str = "en", title: str | None = None):
    """For each restricted input, the sampled range (grey) and the box (colour), on a
    common 0-1 scale with the limits written in the input's units."""
    style.use(lang)
    limits = box.get("restrictions", {})
    if not limits:
        raise ValueError(box.get("note", "the box restricts no input"))
    names = list(limits)
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.5))
    y = np.arange(len(names))[::-1]
    for yi, name in zip(y, names):
        lim = limits[name]
        lo, hi = lim["range"]
        width = (hi - lo) or 1.0
        a, b = (lim["low"] - lo) / width, (lim["high"] - lo) / width
        ax.barh(yi, 1.0, color="#dddddd", height=0.6)
        ax.barh(yi, b - a, left=a, color=style.PALETTE["blue"], height=0.6,
                label=labels.text("prim_box", lang) if yi == y[0] else None)
        ax.annotate(f"{lim['low']:.3g} – {lim['high']:.3g}", (b, yi), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, [labels.parameter(n, lang) for n in names], fontsize=8)
    ax.set_xlim(0, 1.25)
    ax.set_xlabel(labels.text("prim_axis", lang), fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    stats = labels.text("prim_stats", lang, coverage=f"{box['coverage']:.0%}",
                        density=f"{box['density']:.0%}", base=f"{box['base_rate']:.0%}")
    ax.set_title(title or labels.text("prim_title", lang, label=_label(box, goal_set, lang))
                 + f"\n{stats}", fontsize=9)
    return fig
