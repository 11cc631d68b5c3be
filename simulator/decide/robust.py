"""Robust choice: the setting whose worst goal group is met most often, and where it fails.

The robust setting maximises the worst group's satisficing share (ties: the higher joint
probability, then the smaller regret) over the Pareto set.  Its failure box is PRIM
(EMA Workbench, through :func:`simulator.analyze.discovery.prim_box`) on the futures it
was evaluated on, with its worst group failing as the case of interest, over the
scenario's uncertainties (and levers, where several settings are stacked) only:
calibration constants are sampled too, but a box over them is nothing a planner can act
on or watch.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..analyze import discovery


def choose(pareto: list[dict]) -> dict:
    """The Pareto setting with the best worst group."""
    return max(pareto, key=lambda s: (s["satisficing_worst"], s["joint"], -s["regret_max"]))


def failure_box(evaluation, inputs: dict[str, np.ndarray], levers: list[str],
                group: np.ndarray) -> dict:
    """PRIM box of (future, setting) pairs where the goals of ``group`` (mask) fail.

    ``evaluation``: settings ``(K, levers)`` over futures; ``inputs``: the futures'
    uncertain inputs ``name -> (runs,)``.  Rows are every counted (setting, future).
    """
    k, n = evaluation.ok.shape
    fails = ~evaluation.met[:, :, group].all(axis=2)
    columns = {name: np.tile(values, k) for name, values in inputs.items()}
    for j, name in enumerate(levers):
        if np.ptp(evaluation.levers[:, j]) > 0:
            columns[name] = np.repeat(evaluation.levers[:, j], n)
    ok = evaluation.ok.ravel()
    data = xr.Dataset({name: ("run", values, {"sampled": 1}) for name, values in columns.items()})
    data["met"] = (("run", "goal"), fails.reshape(-1, 1))
    data["plausible"] = ("run", ok)
    data = data.assign_coords(goal=["fails"])
    return discovery.prim_box(data)
