"""The plan's past figures (the project's history file) and how runs compare with them.

Each row of the history CSV names an indicator, a year, a value and a comparator:
``=`` for a reported figure, ``<`` for a bound the plan states (checked every year
of the history). The project's manifest (``[history]``) says which years the
history spans, which figures are derived from an indicator (e.g. an average growth
rate: ``[history.derived.NAME]``), the observation-error file, and why figures
without a counterpart in the model are left out.

Each figure carries the standard deviation of its observation and model error
(:mod:`simulator.calibrate.errors`); a run's *implausibility* on a figure is its
error in those standard deviations, and a run is plausible when no figure puts it
above ``CUTOFF`` (history matching's three-sigma rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError
from . import goals, validate
from .project import Derived, Project

CUTOFF = 3.0  # implausibility above which a run is ruled out (Pukelsheim's three-sigma rule)


@dataclass(frozen=True)
class Figure:
    """One historical figure the model represents, with its observation error."""

    indicator: str
    year: int
    value: float
    comparator: str
    derived: bool  # the plan derived it from other figures (history's `derived` column)
    sd: float  # standard deviation of observation and model error, in the figure's unit
    bound_years: tuple[int, ...] = ()  # years a bound is checked in
    measure: Derived | None = None  # computed from another indicator

    @property
    def key(self) -> str:
        return f"{self.indicator}.{self.year}"

    @property
    def tolerance(self) -> float:
        """Largest error (figure's unit) a plausible run may show: CUTOFF standard deviations."""
        return CUTOFF * self.sd

    @property
    def source(self) -> str:
        """The indicator the figure is read from."""
        return self.measure.indicator if self.measure else self.indicator


def load(project: Project) -> pd.DataFrame:
    """The history table as written (every figure, represented or not; values as printed)."""
    return validate.history_table(project.history)


def _represented(project: Project) -> set[str]:
    return set(project.indicators) | set(project.history_settings.derived)


def figures(project: Project, discrepancy: bool = True) -> list[Figure]:
    """Figures of indicators the model represents, each with its error budget and (unless
    ``discrepancy`` is False) the model discrepancy the project's calibration estimated."""
    from ..calibrate import discrepancy as disc
    from ..calibrate import errors

    settings = project.history_settings
    table = load(project)
    budgets = errors.budgets(table, project)
    rows = table[table["indicator"].isin(_represented(project))]
    figs = [Figure(r.indicator, int(r.year), float(r.value), r.comparator, bool(r.derived),
                   budgets[f"{r.indicator}.{int(r.year)}"].sd,
                   tuple(settings.years) if r.comparator == "<" else (),
                   settings.derived.get(r.indicator))
            for r in rows.itertuples()]
    sizes = committed_discrepancy(project) if discrepancy else {}
    return disc.applied(figs, disc.families(project, figs), sizes) if sizes else figs


def committed_discrepancy(project: Project) -> dict[str, float]:
    """The family discrepancies of the project's calibration file (``[discrepancy]``;
    empty without a calibration file or an older one without them)."""
    from ..calibrate import discrepancy as disc

    path = project.calibration
    if path is None or not path.is_file():
        return {}
    from . import tomlfile

    doc = tomlfile.read(path, "calibration file not found", "run `plansim calibrate`")
    table = validate.table(path, "discrepancy", doc.get("discrepancy", {}),
                           "run `plansim calibrate` to rewrite it")
    out = {}
    for fam in disc.FAMILIES:
        if fam in table:
            value = validate.number(path, f"discrepancy.{fam}", table[fam])
            if not (np.isfinite(value) and value >= 0):
                raise InputError(path, f"discrepancy.{fam}", f"{value} is not a size (0 or "
                                 "more)", "run `plansim calibrate` to rewrite it")
            out[fam] = float(value)
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


def simulated_array(fig: Figure, data: dict[str, np.ndarray], times: np.ndarray) -> np.ndarray:
    """:func:`simulated` on arrays ``(run, time)`` by indicator (the same operations)."""
    series = data[fig.source]

    def at(year: float) -> np.ndarray:
        where = np.flatnonzero(times == year)
        if where.size != 1:
            raise KeyError(f"{fig.key}: year {year} not among the times")
        return series[:, where[0]]

    if fig.measure is not None:
        d = fig.measure
        value, base = at(fig.year), at(d.base_year)
        elapsed = float(fig.year) - d.base_year
        if d.measure == "level":
            return value
        if d.measure == "ratio":
            return value / base
        if d.measure == "growth":
            return 100.0 * ((value / base) ** (1.0 / elapsed) - 1.0)
        return (value - base) / elapsed
    if fig.comparator == "<":
        return np.max(np.column_stack([at(y) for y in fig.bound_years]), axis=1)
    return at(fig.year)


def error(fig: Figure, model_value: xr.DataArray | float):
    """Signed error in the figure's unit (0 inside a bound)."""
    if fig.comparator == "<":
        return np.maximum(0.0, model_value - fig.value)
    return model_value - fig.value


def implausibility(data: xr.Dataset, figs: list[Figure]) -> xr.DataArray:
    """|error| / sd of every figure, ``(run, figure)``; non-finite runs get +inf."""
    cols = []
    for fig in figs:
        z = np.abs(np.asarray(error(fig, simulated(fig, data)), dtype=float)) / fig.sd
        cols.append(np.where(np.isfinite(z), z, np.inf))
    return xr.DataArray(np.column_stack(cols) if cols else np.zeros((data.sizes["run"], 0)),
                        dims=("run", "figure"),
                        coords={"run": data["run"].values, "figure": [f.key for f in figs]})


def plausible(data: xr.Dataset, figs: list[Figure]) -> xr.DataArray:
    """Runs (``run`` dim) no figure rules out: implausibility at most CUTOFF everywhere."""
    return implausibility(data, figs).max("figure") <= CUTOFF
