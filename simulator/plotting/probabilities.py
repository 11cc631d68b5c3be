"""Probability of each goal, and of all together, with 95% Wilson intervals (the scorecard)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..present import labels
from . import style


def probabilities(summary: dict, title: str | None = None, compare: dict | None = None,
                  series_labels: tuple[str, str] | None = None, goal_set=None,
                  lang: str = "en"):
    """Horizontal bars: P(goal met) per goal and P(all met), from a reach summary.

    ``summary`` is ``Reach.summary`` (or ``summary.json``'s shape with ``goals`` mapping
    to ``probability``/``value`` and ``interval``); ``compare`` adds a second series.
    Goals are named by their label in ``lang`` when ``goal_set`` is given. A probability
    of None (no plausible future to count) gets no bar but the words "no plausible future
    (n/a)" in its place.
    """
    style.use(lang)
    series_labels = series_labels or (labels.text("scenario_levers", lang),
                                      labels.text("best_levers", lang))

    def series(s):
        goals = s["goals"]
        ids = list(goals)
        p = [goals[g].get("probability", goals[g].get("value")) for g in ids]
        ci = [goals[g]["interval"] for g in ids]
        jp = s["joint_probability"]
        p.append(jp.get("probability", jp.get("value")))
        ci.append(jp["interval"])
        p = [np.nan if v is None else v for v in p]
        return ids, np.array(p, dtype=float), np.array(ci, dtype=float)

    def mark_missing(p, offset):
        for yi in y[np.isnan(p)]:
            ax.text(1, yi + offset, labels.text("no_plausible_future", lang), fontsize=7,
                    va="center", color="dimgrey")

    ids, p, ci = series(summary)
    names = [labels.goal_by_id(g, goal_set, lang) if goal_set else g for g in ids]
    names.append(labels.text("all_goals", lang))
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    height = 0.38 if compare else 0.7
    ax.barh(y + (height / 2 if compare else 0), 100 * p, height=height,
            color=style.PALETTE["blue"], xerr=100 * np.abs(ci.T - p),
            error_kw={"elinewidth": 0.8}, label=series_labels[0])
    mark_missing(p, height / 2 if compare else 0)
    if compare:
        _, p2, ci2 = series(compare)
        ax.barh(y - height / 2, 100 * p2, height=height, color=style.PALETTE["orange"],
                xerr=100 * np.abs(ci2.T - p2), error_kw={"elinewidth": 0.8},
                label=series_labels[1])
        mark_missing(p2, -height / 2)
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.get_yticklabels()[-1].set_color(style.PALETTE["vermillion"])
    ax.set_xlim(0, 100)
    ax.set_xlabel(labels.text("probability_met", lang))
    ax.axhline(y[-1] + 0.5, color="grey", lw=0.6)
    ax.set_title(title or labels.text("probabilities_title", lang), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig
