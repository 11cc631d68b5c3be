"""Calibration sets joined with the futures: runs draw parameter sets of the
history-matched ensemble (:mod:`simulator.calibrate.ensemble`) by a prior's weights.

``RUNS_PER_SET`` runs share one draw, so the outcome variance splits into a
calibration and a future part (:mod:`simulator.analyze.calibration`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .latin import latin_hypercube

RUNS_PER_SET = 20  # runs sharing one calibration draw: what splits variance between the two


def with_calibration(futures: xr.Dataset, sets, seed: int, prior: str = "documented",
                     keep: set[str] | frozenset[str] = frozenset()) -> xr.Dataset:
    """``futures`` joined with calibration sets drawn from ``sets`` by the prior's weights.

    ``n // RUNS_PER_SET`` sets are drawn (seeded, with replacement) and run ``i`` uses
    draw ``i % draws``, so every draw meets ``RUNS_PER_SET`` different futures and the
    outcome variance splits into a calibration and a future part. Each calibrated
    parameter becomes a ``(run,)`` variable (except those in ``keep``, which the
    scenario sets itself); the set's index is the ``calibration_set`` coordinate.
    """
    n = futures.sizes["run"]
    draws = max(1, n // RUNS_PER_SET)
    idx = sets.draw(draws, seed, prior)[np.arange(n) % draws]
    out = futures.copy()
    for j, name in enumerate(sets.names):
        if name not in keep:
            out[name] = ("run", sets.values[idx, j])
            out[name].attrs["source"] = "calibration ensemble"
    out = out.assign_coords(calibration_set=("run", idx.astype(np.int64)))
    out["calibration_set"].attrs["description"] = (
        f"index of the calibration set ({sets.path.name}) the run used")
    out.attrs.update({"calibration": "ensemble", "calibration_prior": prior,
                      "calibration_file": sets.path.name, "calibration_sets_hash": sets.file_hash})
    return out


def future_uncertainties(scenario, sets=None) -> dict:
    """The scenario's uncertainties the futures sample: all but those of the history space
    (the calibration file's parameters, or the ensemble's), which the calibration supplies
    jointly with the others so that every run reproduces the history."""
    covered = set(scenario.calibrated) | (set(sets.names) if sets is not None else set())
    covered -= {n for n, p in _roles(scenario).items() if p == "calibrated"}
    return {k: u for k, u in scenario.uncertainties.items() if k not in covered}


def _roles(scenario) -> dict[str, str]:
    from ..inputs import model

    return {k: p.role for k, p in model.parameters(scenario.project).items()}


def futures(scenario, n: int, seed: int, calibration: str = "ensemble",
            prior: str = "documented") -> xr.Dataset:
    """The runs' sampled inputs: the scenario's future uncertainties (Latin hypercube) and,
    unless ``calibration`` is ``"point"`` or the calibration has no ensemble, calibration
    sets (which carry the history space: no run is screened afterwards)."""
    sets = scenario.calibration_sets() if calibration == "ensemble" else None
    uncs = future_uncertainties(scenario, sets)
    ds = latin_hypercube(uncs, n, seed)
    if sets is None:
        ds.attrs["calibration"] = "point"
        return ds
    keep = set(uncs) | set(scenario.overrides) | set(scenario.levers)
    return with_calibration(ds, sets, seed, prior, keep)
