"""Tornado chart: one output's swing as each input goes from its low to its high setting."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..present import labels
from . import style


def tornado(ds: xr.Dataset, output: str, goal_set=None, top: int = 15, unit: str | None = None,
            lang: str = "en", title: str | None = None):
    """Bars from the base case to the output at each input's low and high setting,
    largest swing on top (``ds`` from :func:`simulator.analyze.sensitivity.tornado_swings`)."""
    style.use(lang)
    row = ds.sel(output=output)
    base = float(row["base"])
    order = np.argsort(-row["swing"].values, kind="stable")[:top][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(order) + 1.6))
    y = np.arange(len(order))
    low, high = row["at_low"].values[order], row["at_high"].values[order]
    ax.barh(y, low - base, left=base, color=style.PALETTE["sky"], height=0.7,
            label=labels.text("low_setting", lang))
    ax.barh(y, high - base, left=base, color=style.PALETTE["vermillion"], height=0.7,
            label=labels.text("high_setting", lang))
    ax.axvline(base, color="black", lw=0.8, label=labels.text("base_case", lang))
    if output != "joint" and ":" not in output:  # a goal margin: 0 is the plan's target
        ax.axvline(0, color=style.PALETTE["green"], lw=1.2, ls="--",
                   label=labels.text("goal_line", lang))
    names = []
    for i in order:
        name = labels.parameter(str(row["input"].values[i]), lang)
        lo, hi = float(ds["low_setting"].values[i]), float(ds["high_setting"].values[i])
        names.append(f"{name}  [{lo:.3g} – {hi:.3g}]")
    ax.set_yticks(y, names, fontsize=7)
    for tick, i in zip(ax.get_yticklabels(), order):
        if str(row["kind"].values[i]) == "lever":
            tick.set_color(style.PALETTE["vermillion"])
    label = labels.output(output, goal_set, lang)
    if unit is None:
        if output == "joint" or ":" not in output:
            unit = labels.text("margin_unit", lang) if output != "joint" else "0/1"
        else:
            unit = labels.unit(output.split(":")[0], lang)
    ax.set_xlabel(labels.text("tornado_axis", lang, label=label, unit=unit), fontsize=8)
    ax.set_title(title or labels.text("tornado_title", lang, label=label), fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig
