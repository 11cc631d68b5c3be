"""The plan's past figures (the project's history file) and how runs compare with them.

Each row of the history CSV names an indicator, a year, a value and a comparator:
``=`` for a reported figure, ``<`` for a bound the plan states (checked every year
of the history). The project's manifest (``[history]``) says which years the
history spans, the tolerances, which figures are derived from an indicator (e.g.
an average growth rate: ``[history.derived.NAME]``) and why figures without a
counterpart in the model are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from . import goals
from .project import Derived, Project


@dataclass(frozen=True)
class Figure:
    """One historical figure the model represents."""

    indicator: str
    year: int
    value: float
    comparator: str
    derived: bool  # the plan derived it from other figures (history's `derived` column)
    tolerance: float  # allowed error: 0 past a bound, points if absolute, else relative
    absolute: bool
    bound_years: tuple[int, ...] = ()  # years a bound is checked in
    measure: Derived | None = None  # computed from another indicator

    @property
    def key(self) -> str:
        return f"{self.indicator}.{self.year}"

    @property
    def source(self) -> str:
        """The indicator the figure is read from."""
        return self.measure.indicator if self.measure else self.indicator


def load(project: Project) -> pd.DataFrame:
    """The history table as written (every figure, represented or not)."""
    table = pd.read_csv(project.history, encoding="utf-8", dtype={"derived": str})
    table["derived"] = table["derived"].str.strip().eq("yes")
    return table


def _represented(project: Project) -> set[str]:
    return set(project.indicators) | set(project.history_settings.derived)


def figures(project: Project) -> list[Figure]:
    """Figures of indicators the model represents."""
    settings = project.history_settings
    table = load(project)
    rows = table[table["indicator"].isin(_represented(project))]
    out = []
    for r in rows.itertuples():
        points = settings.point_tolerance.get(r.indicator)
        tolerance = 0.0 if r.comparator == "<" else (
            points if points is not None else settings.relative_tolerance)
        out.append(Figure(r.indicator, int(r.year), float(r.value), r.comparator,
                          bool(r.derived), tolerance, points is not None,
                          tuple(settings.years) if r.comparator == "<" else (),
                          settings.derived.get(r.indicator)))
    return out


def not_represented(project: Project) -> dict[str, str]:
    """Indicators of the history table with no counterpart in the model, and why."""
    table = load(project)
    missing = sorted(set(table["indicator"]) - _represented(project))
    reasons = project.history_settings.not_represented
    return {name: reasons.get(name, "no counterpart in the model") for name in missing}


def indicators_needed(figs: list[Figure]) -> list[str]:
    """Indicators a comparison with ``figs`` reads."""
    return sorted({f.source for f in figs})


def simulated(fig: Figure, data: xr.Dataset) -> xr.DataArray:
    """The model's counterpart of a figure, over runs (worst year for a bound)."""
    series = data[fig.source]
    if fig.measure is not None:
        d = fig.measure
        goal = goals.Goal(id=fig.key, indicator=d.indicator, years=(fig.year,), comparator="=",
                          threshold=fig.value, unit="", section="", quote="",
                          measure=d.measure, base_year=d.base_year)
        return goals.measured(goal, series).sel(time=fig.year, drop=True)
    if fig.comparator == "<":
        return series.sel(time=list(fig.bound_years)).max("time")
    return series.sel(time=fig.year)


def error(fig: Figure, model_value: xr.DataArray | float):
    """Signed error: points for absolute figures, relative otherwise; 0 inside a bound."""
    if fig.comparator == "<":
        return np.maximum(0.0, model_value - fig.value) / fig.value
    if fig.absolute:
        return model_value - fig.value
    return (model_value - fig.value) / fig.value


def plausible(data: xr.Dataset, figs: list[Figure]) -> xr.DataArray:
    """Runs (``run`` dim) whose history path stays within the calibration tolerance."""
    ok = xr.ones_like(data["run"], dtype=bool)
    for fig in figs:
        ok = ok & (abs(error(fig, simulated(fig, data))) <= fig.tolerance)
    return ok
