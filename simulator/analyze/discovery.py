"""Scenario discovery: in which futures do the goals hold? PRIM boxes (EMA Workbench).

PRIM (Friedman and Fisher's patient rule induction method, as in EMA Workbench)
finds a box in the space of sampled inputs where the chosen goals hold far more
often than on average: the conditions a briefing can state ("if oil grows
faster than 6%/yr and inflation stays under 4%, ...").
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from .pawn import sampled_inputs


def _prim():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def target(data: xr.Dataset, goals: list[str] | None = None) -> np.ndarray:
    """Runs where all ``goals`` hold (all goals, i.e. the joint flag, when None)."""
    met = data["met"].astype(bool)
    if goals is not None:
        met = met.sel(goal=goals)
    return met.all("goal").values


MAX_DIMS = 4  # a box a reader can state in one sentence


def prim_box(data: xr.Dataset, goals: list[str] | None = None,
             threshold: float | None = None,
             peel_alpha: float = 0.05, min_coverage: float = 0.5,
             inputs: list[str] | None = None, max_dims: int | None = MAX_DIMS) -> dict:
    """The PRIM box (on sampled inputs, plausible runs only) where ``goals`` hold.

    Returns the restricted inputs with their limits, and the box's coverage (share of
    successes inside), density (success rate inside) and mass (share of runs inside),
    next to the success rate over all plausible runs. A box is found only if the
    goals hold in some runs and fail in others. Of the peeling trajectory, the box
    with the highest density that still covers ``min_coverage`` of the successes is
    reported, among boxes restricting at most ``max_dims`` inputs (None: any number).
    ``inputs`` limits what PRIM may restrict (default: every sampled input).
    """
    inputs = sampled_inputs(data) if inputs is None else [
        k for k in inputs if k in sampled_inputs(data)]
    keep = np.asarray(data["plausible"].values, dtype=bool)
    x = pd.DataFrame({k: data[k].values[keep] for k in inputs})
    y = target(data, goals)[keep]
    base = float(y.mean()) if y.size else float("nan")
    result = {"goals": goals or "all", "runs": int(y.size), "base_rate": base,
              "restrictions": {}, "coverage": None, "density": None, "mass": None}
    if y.size == 0:
        result["note"] = "no plausible future (n/a): nothing to discover"
        return result
    if y.all() or not y.any():
        result["note"] = "the goals hold in all or none of the runs: nothing to discover"
        return result
    prim = _prim()
    box = None
    # EMA Workbench's PRIM peels only toward a density it can reach: lower the
    # threshold (default: halfway from the base rate to 1) until it peels.
    for level in ([threshold] if threshold is not None else [0.5, 0.25, 0.1]):
        goal_density = level if threshold is not None else base + level * (1 - base)
        box = prim.Prim(x, y, threshold=goal_density, peel_alpha=peel_alpha).find_box()
        if len(box.peeling_trajectory) > 1:
            break
    trajectory = box.peeling_trajectory
    eligible = trajectory[trajectory["coverage"] >= min_coverage]
    if max_dims is not None:
        eligible = eligible[eligible["res_dim"] <= max_dims]
    choice = int(eligible["density"].idxmax()) if len(eligible) else 0
    box.select(choice)
    stats = trajectory.iloc[choice]
    limits = box.box_lims[choice]
    full = pd.DataFrame({k: [x[k].min(), x[k].max()] for k in inputs})
    for k in inputs:
        lo, hi = float(limits[k].iloc[0]), float(limits[k].iloc[1])
        if lo > full[k].iloc[0] or hi < full[k].iloc[1]:
            result["restrictions"][k] = {"low": lo, "high": hi,
                                         "range": [float(full[k].iloc[0]),
                                                   float(full[k].iloc[1])]}
    result.update({"coverage": float(stats["coverage"]), "density": float(stats["density"]),
                   "mass": float(stats["mass"]),
                   "trajectory": {"coverage": [float(v) for v in trajectory["coverage"]],
                                  "density": [float(v) for v in trajectory["density"]],
                                  "chosen": choice}})
    return result
