"""``ds.plan``: the analyses, on the xarray datasets researchers already hold.

Registered when :mod:`simulator` is imported. Works on an ensemble (``results.nc``
of ``plansim reach``, or :func:`simulator.running.ensemble.run`) and, for the scorecard, on
a single run (``plansim run``'s netCDF).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..analyze import calibration, discovery, pawn, reachability


@xr.register_dataset_accessor("plan")
class PlanAccessor:
    """Goal scorecard, reachability summary, calibration shares, sensitivity, PRIM boxes and
    fan charts."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def _plausible(self):
        ds = self._ds
        return ds["plausible"].astype(bool) if "plausible" in ds else None

    def scorecard(self) -> pd.DataFrame:
        """Per goal: probability with 95% interval (ensemble) or value/margin/met (one run)."""
        ds = self._ds
        if "met" not in ds and "goal_met" in ds:  # a single run written by `plansim run`
            return pd.DataFrame({"value": ds["goal_value"].values,
                                 "margin": ds["goal_margin"].values,
                                 "met": ds["goal_met"].values.astype(bool)},
                                index=pd.Index(ds["goal"].values, name="goal"))
        s = self.summary()
        rows = {g: {"probability": v["probability"], "low": v["interval"][0],
                    "high": v["interval"][1]} for g, v in s["goals"].items()}
        jp = s["joint_probability"]
        rows["ALL"] = {"probability": jp["probability"], "low": jp["interval"][0],
                       "high": jp["interval"][1]}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("goal")

    def summary(self) -> dict:
        """Probabilities, binding goals, held-back-by ranking and conflicts."""
        ds = self._ds
        ev = xr.Dataset({"met": ds["met"].astype(bool), "joint": ds["joint"].astype(bool)})
        if "projection_met" in ds:  # the plan's projections, beside (never in) the goals
            ev["projection_met"] = ds["projection_met"].astype(bool)
        return reachability.summarize(ev, self._plausible())

    def calibration_shares(self) -> pd.DataFrame:
        """Per goal and ``ALL``: share of outcome variance from the calibration set vs the
        futures (runs need the ``calibration_set`` coordinate, as ``plansim reach`` and
        ``plansim sweep`` write it; NaN where the outcome does not vary)."""
        ds = self._ds
        if "calibration_set" not in ds.coords and "calibration_set" not in ds:
            raise ValueError("no calibration_set: the runs used the point calibration "
                             "(`plansim reach --calibration ensemble` records it)")
        goals = [str(g) for g in ds["goal"].values]
        mask = self._plausible()
        shares = calibration.variance_shares(ds["met"].values.astype(bool), goals,
                                             ds["calibration_set"].values,
                                             None if mask is None else mask.values)
        rows = {g: (v if v is not None else {"calibration": np.nan, "future": np.nan})
                for g, v in shares.items()}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("goal")

    def sensitivity(self, goals: list[str] | None = None, seed: int = 0) -> xr.DataArray:
        """PAWN indices ``(goal, input)`` of the sampled inputs on the goal margins."""
        ds = self._ds.assign(plausible=self._ds["plausible"].astype(bool))
        return pawn.pawn(ds, goals, seed=seed)

    def discover(self, goals: list[str] | None = None, **options) -> dict:
        """The PRIM box of futures where ``goals`` (default: all) hold together
        (``options``: :func:`simulator.analyze.discovery.prim_box`'s, e.g. ``inputs``)."""
        ds = self._ds.assign(plausible=self._ds["plausible"].astype(bool))
        return discovery.prim_box(ds, goals, **options)

    def fan(self, indicator: str, goal_set=None, project=None, lang: str = "en"):
        """Fan chart of an indicator over plausible futures (``project``: default found;
        labels in ``lang``: zh or en)."""
        from ..plotting import fan

        return fan(self._ds, indicator, goal_set, project, lang=lang)

    def quantiles(self, indicator: str, q=(0.05, 0.5, 0.95)) -> xr.DataArray:
        """Quantiles over plausible runs of an indicator, ``(quantile, time)``."""
        values = self._ds[indicator]
        mask = self._plausible()
        if mask is not None:
            values = values.isel(run=np.flatnonzero(mask.values))
        return values.quantile(list(q), dim="run")
