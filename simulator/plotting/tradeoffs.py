"""Trade-offs between goal groups: the Pareto set as parallel coordinates (zh/en).

One line per Pareto-optimal lever setting of ``plansim frontier``; one axis per goal group
(share of futures meeting every goal of the group, %) and one for all goals together; the
robust setting (best worst group) drawn on top.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..present import labels
from . import style


def group_label(group: str, lang: str) -> str:
    """A decision group's name (labels.toml ``group_<name>``), else a goal's id."""
    try:
        return labels.text(f"group_{group}", lang)
    except KeyError:
        return group


def tradeoffs(frontier: dict, lang: str = "en", title: str | None = None):
    """Parallel-coordinates chart of ``frontier["pareto"]``."""
    style.use(lang)
    settings = frontier["pareto"]
    groups = list(settings[0]["group_probability"]) if settings else []
    axes = [group_label(g, lang) for g in groups] + [labels.text("joint_success", lang)]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.6 * len(axes)), 4.6))
    xs = range(len(axes))
    for s in settings:
        ys = [100 * s["group_probability"][g] for g in groups] + [100 * s["joint"]]
        ax.plot(xs, ys, color=style.PALETTE["blue"], alpha=0.35, lw=1.2)
    robust = frontier.get("robust")
    if robust and robust.get("group_probability"):
        ys = [100 * robust["group_probability"].get(g, 0.0) for g in groups] + \
            [100 * robust["joint"]]
        ax.plot(xs, ys, color=style.PALETTE["vermillion"], lw=2.5, marker="o",
                label=labels.text("robust_setting", lang))
    ax.plot([], [], color=style.PALETTE["blue"], alpha=0.6,
            label=labels.text("pareto_setting", lang))
    for x in xs:
        ax.axvline(x, color="#999999", lw=0.8)
    ax.set_xticks(list(xs), axes, rotation=15, ha="right", fontsize=9)
    ax.set_ylim(0, 100)
    ax.set_ylabel(labels.text("tradeoffs_axis", lang))
    ax.legend(loc="upper right", fontsize=8)
    if title is None and robust:
        title = labels.text("tradeoffs_title", lang, n=len(settings),
                            group=group_label(robust["worst_group"], lang),
                            p=f"{100 * robust['satisficing_worst']:.0f}")
    ax.set_title(title or "", fontsize=10)
    return fig


def save_tradeoffs(frontier: dict, path: Path | str, lang: str = "en") -> Path:
    """Draw and write the chart (PNG and SVG); the PNG's path."""
    return style.save(tradeoffs(frontier, lang), Path(path).with_suffix(".png"))
