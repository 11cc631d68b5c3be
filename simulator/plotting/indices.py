"""Bars of sensitivity indices for one output: Sobol (S1 and ST with 95% intervals),
Morris (μ* with its interval, and σ) or PAWN (median KS statistic)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..present import labels
from . import style

_SERIES = {"sobol": (("S1", "S1_conf", "sobol_first"), ("ST", "ST_conf", "sobol_total")),
           "morris": (("mu_star", "mu_star_conf", "morris_mu_star"),
                      ("sigma", None, "morris_sigma")),
           "pawn": (("median", None, "pawn_axis"),)}
_AXIS = {"sobol": "sobol_axis", "morris": None, "pawn": "pawn_axis"}


def indices(ds: xr.Dataset, output: str, goal_set=None, top: int = 15, lang: str = "en",
            title: str | None = None):
    """Horizontal bars of the ``top`` inputs of ``output``, largest first (``ds`` from
    :func:`simulator.analyze.sensitivity.indices`); levers and uncertainties are told apart."""
    style.use(lang)
    method = ds.attrs["method"]
    series = _SERIES[method]
    row = ds.sel(output=output)
    key = row[series[-1][0]].values if method == "sobol" else row[series[0][0]].values
    order = np.argsort(-key, kind="stable")[:top][::-1]
    names = [labels.parameter(str(row["input"].values[i]), lang) for i in order]
    kinds = [str(row["kind"].values[i]) for i in order]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(order) + 1.6))
    y = np.arange(len(order))
    height = 0.8 / len(series)
    colours = (style.PALETTE["blue"], style.PALETTE["orange"])
    for k, (var, conf, text_key) in enumerate(series):
        values = row[var].values[order]
        err = row[conf].values[order] if conf else None
        ax.barh(y + (k - (len(series) - 1) / 2) * height, values, height=height,
                xerr=err, color=colours[k], error_kw={"elinewidth": 0.8},
                label=labels.text(text_key, lang))
    ax.set_yticks(y, names, fontsize=8)
    for tick, kind in zip(ax.get_yticklabels(), kinds):
        if kind == "lever":
            tick.set_color(style.PALETTE["vermillion"])
    label = labels.output(output, goal_set, lang)
    axis = _AXIS[method]
    ax.set_xlabel(labels.text(axis, lang) if axis else
                  f"{labels.text('morris_mu_star', lang)} / {labels.text('morris_sigma', lang)}",
                  fontsize=8)
    ax.axvline(0, color="grey", lw=0.6)
    ax.legend(fontsize=7, loc="lower right", title=labels.text("levers_marked", lang),
        title_fontsize=7)
    ax.set_title(title or labels.text(f"{method}_title", lang, label=label), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig
