"""Heatmap of sensitivity indices: which uncertainty drives which goal."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr


def heatmap(indices: xr.DataArray, title: str | None = None, top_inputs: int = 12):
    """Goals (rows) × the ``top_inputs`` most influential inputs (columns)."""
    order = np.argsort(-indices.max("goal").values, kind="stable")[:top_inputs]
    data = indices.isel(input=order)
    fig, ax = plt.subplots(figsize=(0.55 * data.sizes["input"] + 3, 0.3 * data.sizes["goal"]
                                    + 1.8))
    im = ax.imshow(data.values, cmap="viridis", vmin=0, vmax=max(0.5, float(data.max())),
                   aspect="auto")
    ax.set_xticks(range(data.sizes["input"]), [str(v) for v in data["input"].values],
                  rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(data.sizes["goal"]), [str(v) for v in data["goal"].values], fontsize=8)
    fig.colorbar(im, ax=ax, label=indices.attrs.get("long_name", "PAWN median index"))
    ax.set_title(title or "What drives each goal's margin (PAWN, plausible futures)",
                 fontsize=10)
    return fig
