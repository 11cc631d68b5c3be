"""Scorecard of one run: each goal's margin to its target, met or missed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..present import labels
from . import style


def scorecard(evaluation: xr.Dataset, goal_set, lang: str = "en", title: str | None = None):
    """Bars of each goal's margin in percent of its target (≥ 0 met), from
    :func:`simulator.inputs.goals.evaluate` on one run (``run`` of length 1, or no ``run``)."""
    style.use(lang)
    ev = evaluation.isel(run=0) if "run" in evaluation.dims else evaluation
    ids = [str(g) for g in ev["goal"].values]
    margin = 100 * ev["margin"].values.astype(float)
    met = ev["met"].values.astype(bool)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(ids) + 1.4))
    y = np.arange(len(ids))[::-1]
    colours = [style.PALETTE["green"] if m else style.PALETTE["vermillion"] for m in met]
    ax.barh(y, margin, color=colours, height=0.7)
    for yi, m, ok in zip(y, margin, met):
        word = labels.text("met" if ok else "missed", lang)
        ax.annotate(f"{m:+.1f}% {word}", (m, yi), xytext=(4 if m >= 0 else -4, 0),
                    textcoords="offset points", ha="left" if m >= 0 else "right",
                    va="center", fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [labels.goal_by_id(g, goal_set, lang) for g in ids], fontsize=8)
    lo, hi = min(0.0, float(margin.min())), max(0.0, float(margin.max()))
    pad = 0.25 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel(f"{labels.text('margin_unit', lang)} (%)", fontsize=8)
    ax.set_title(title or labels.text("scorecard_title", lang), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig
