"""Heatmap of sensitivity indices: which uncertainty drives which goal."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..present import labels
from . import style


def heatmap(indices: xr.DataArray, title: str | None = None, top_inputs: int = 12,
            goal_set=None, lang: str = "en"):
    """Goals (rows) × the ``top_inputs`` most influential inputs (columns)."""
    style.use(lang)
    order = np.argsort(-indices.max("goal").values, kind="stable")[:top_inputs]
    data = indices.isel(input=order)
    fig, ax = plt.subplots(figsize=(0.55 * data.sizes["input"] + 4, 0.3 * data.sizes["goal"]
                                    + 2.2))
    im = ax.imshow(data.values, cmap=style.SEQUENTIAL, vmin=0,
                   vmax=max(0.5, float(data.max())), aspect="auto")
    ax.set_xticks(range(data.sizes["input"]),
                  [labels.parameter(str(v), lang) for v in data["input"].values],
                  rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(data.sizes["goal"]),
                  [labels.goal_by_id(str(v), goal_set, lang) if goal_set else str(v)
                   for v in data["goal"].values], fontsize=8)
    fig.colorbar(im, ax=ax, label=labels.text("pawn_axis", lang))
    ax.set_title(title or labels.text("heatmap_title", lang), fontsize=10)
    return fig
