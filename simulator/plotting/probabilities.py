"""Probability of each goal, and of all together, with 95% Wilson intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def probabilities(summary: dict, title: str | None = None, compare: dict | None = None,
                  labels: tuple[str, str] = ("scenario levers", "best levers found")):
    """Horizontal bars: P(goal met) per goal and P(all met), from a reach summary.

    ``summary`` is ``Reach.summary`` (or ``summary.json``'s shape with ``goals`` mapping
    to ``probability``/``value`` and ``interval``); ``compare`` adds a second series.
    """
    def series(s):
        goals = s["goals"]
        names = list(goals)
        p = [goals[g].get("probability", goals[g].get("value")) for g in names]
        ci = [goals[g]["interval"] for g in names]
        jp = s["joint_probability"]
        names.append("ALL GOALS TOGETHER")
        p.append(jp.get("probability", jp.get("value")))
        ci.append(jp["interval"])
        return names, np.array(p), np.array(ci)

    names, p, ci = series(summary)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    height = 0.38 if compare else 0.7
    ax.barh(y + (height / 2 if compare else 0), 100 * p, height=height, color="#4C72B0",
            xerr=100 * np.abs(ci.T - p), error_kw={"elinewidth": 0.8}, label=labels[0])
    if compare:
        _, p2, ci2 = series(compare)
        ax.barh(y - height / 2, 100 * p2, height=height, color="#DD8452",
                xerr=100 * np.abs(ci2.T - p2), error_kw={"elinewidth": 0.8}, label=labels[1])
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.set_xlim(0, 100)
    ax.set_xlabel("probability the goal is met (%), 95% Wilson interval")
    ax.axhline(y[-1] + 0.5, color="grey", lw=0.6)
    ax.set_title(title or "How likely is each goal, and all of them together?", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig
