"""PAWN indices (SALib): moment-independent, on any sample.

:func:`analyze` has the small signature every method of this package shares
(``problem, x, y, seed`` -> named index arrays over inputs); :func:`pawn` reads an
existing ensemble (the Latin hypercube ``plansim reach`` already ran), so no
extra runs are needed: the output of each goal is its margin, only plausible
runs count.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from SALib.analyze import pawn as _pawn

INDICES = ("median", "maximum")


def analyze(problem: dict, x: np.ndarray, y: np.ndarray, seed: int = 0,
            slices: int = 10) -> dict[str, np.ndarray]:
    """PAWN median and maximum KS statistic of ``y`` conditional on each input."""
    if np.ptp(y) == 0:
        return {k: np.zeros(problem["num_vars"]) for k in INDICES}
    result = _pawn.analyze(problem, x, y, S=slices, print_to_console=False, seed=seed)
    return {k: np.asarray(result[k], dtype=float) for k in INDICES}


def sampled_inputs(data: xr.Dataset) -> list[str]:
    """The ``(run,)`` inputs that were sampled (attribute ``sampled``), sorted."""
    return sorted(k for k in data.data_vars
                  if data[k].dims == ("run",) and data[k].attrs.get("sampled"))


def pawn(data: xr.Dataset, goals: list[str] | None = None, slices: int = 10,
         seed: int = 0) -> xr.DataArray:
    """PAWN median index of every sampled input on every goal margin, ``(goal, input)``.

    ``data`` is an ensemble (``results.nc`` of ``plansim reach``): sampled inputs
    ``(run,)``, ``margin`` ``(run, goal)`` and ``plausible`` ``(run,)``.
    """
    inputs = sampled_inputs(data)
    if not inputs:
        raise ValueError("the ensemble has no sampled inputs")
    keep = np.asarray(data["plausible"].values, dtype=bool)
    x = np.column_stack([data[k].values[keep] for k in inputs])
    problem = {"num_vars": len(inputs), "names": inputs,
               "bounds": [[float(c.min()), float(c.max())] for c in x.T]}
    goals = [str(g) for g in data["goal"].values] if goals is None else goals
    rows = []
    for goal in goals:
        y = data["margin"].sel(goal=goal).values[keep]
        if np.ptp(y) == 0:
            rows.append(np.zeros(len(inputs)))
            continue
        result = _pawn.analyze(problem, x, y, S=slices, print_to_console=False, seed=seed)
        rows.append(np.asarray(result["median"], dtype=float))
    out = xr.DataArray(np.vstack(rows), dims=("goal", "input"),
                       coords={"goal": goals, "input": inputs}, name="pawn_median")
    out.attrs["description"] = ("PAWN median KS statistic of the goal margin, conditional on "
                                "each input (0 = no influence, 1 = decisive)")
    return out


def ranking(indices: xr.DataArray, top: int = 5) -> dict[str, list[tuple[str, float]]]:
    """The ``top`` inputs of every goal, most influential first."""
    out = {}
    for goal in indices["goal"].values:
        row = indices.sel(goal=goal)
        order = np.argsort(-row.values, kind="stable")[:top]
        out[str(goal)] = [(str(row["input"].values[i]), float(row.values[i])) for i in order]
    return out
