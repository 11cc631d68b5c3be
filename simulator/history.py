"""The plan's 2000-2005 figures (``models/data/history.csv``) and how runs compare with them.

Each row names an indicator, a year, a value and a comparator: ``=`` for a
reported figure, ``<`` for a bound the plan states ("始终控制在8‰以内", checked
every year 2000-2005). ``gdp_real_growth`` and ``va_*_real_growth`` in 2005 are
the plan's average real growth 2001-2005, compared with the model's compound growth
of the real level 2000-2005.

Each figure carries the standard deviation of its observation and model error
(:mod:`simulator.calibrate.errors`); a run's *implausibility* on a figure is its
error in those standard deviations, and a run is plausible when no figure puts it
above ``CUTOFF`` (history matching's three-sigma rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import indicators
from .paths import HISTORY_FILE

CUTOFF = 3.0  # implausibility above which a run is ruled out (Pukelsheim's three-sigma rule)
HISTORY_YEARS = range(2000, 2006)
GROWTH_SUFFIX = "_growth"  # "<level>_growth" figures: average growth of <level> since 2000


@dataclass(frozen=True)
class Figure:
    """One historical figure the model represents, with its observation error."""

    indicator: str
    year: int
    value: float
    comparator: str
    derived: bool
    sd: float  # standard deviation of observation and model error, in the figure's unit

    @property
    def key(self) -> str:
        return f"{self.indicator}.{self.year}"

    @property
    def tolerance(self) -> float:
        """Largest error (figure's unit) a plausible run may show: CUTOFF standard deviations."""
        return CUTOFF * self.sd

    @property
    def level(self) -> str:
        """The indicator a run is read from (the level whose average growth an
        ``*_real_growth`` figure states)."""
        base = self.indicator[: -len(GROWTH_SUFFIX)]
        if self.indicator.endswith(GROWTH_SUFFIX) and base in indicators.INDICATORS:
            return base
        return self.indicator


def load(path: Path | str = HISTORY_FILE) -> pd.DataFrame:
    """The history table as written (every figure, represented or not; values as printed)."""
    table = pd.read_csv(path, encoding="utf-8", dtype={"derived": str, "value": str})
    table["derived"] = table["derived"].str.strip().eq("yes")
    return table


def _represented(indicator: str) -> bool:
    if indicator in indicators.INDICATORS:
        return True
    return (indicator.endswith(GROWTH_SUFFIX)
            and indicator[: -len(GROWTH_SUFFIX)] in indicators.INDICATORS)


def figures(path: Path | str = HISTORY_FILE, errors_path: Path | str | None = None) -> list[Figure]:
    """Figures of indicators the model represents, each with its error budget."""
    from .calibrate import errors

    table = load(path)
    budgets = errors.budgets(table, errors.ERRORS_FILE if errors_path is None else errors_path)
    rows = table[table["indicator"].map(_represented)]
    return [Figure(r.indicator, int(r.year), float(r.value), r.comparator, bool(r.derived),
                   budgets[f"{r.indicator}.{int(r.year)}"].sd)
            for r in rows.itertuples()]


def indicators_needed(figs: list[Figure] | None = None) -> list[str]:
    """Indicators a run must return to be compared with ``figs``."""
    figs = figures() if figs is None else figs
    return sorted({f.level for f in figs})


WHY_NOT_REPRESENTED = {
    "urban_savings": "savings deposits are not a stock of the model; consumption depends on "
                     "income only (their growth, 1.13x in five years against +16.7% income, "
                     "suggests income the survey misses, e.g. oil wages)",
    "attracted_investment": "investment attraction (招商引资) acts as extra growth of private "
                            "investment; attracted funds are not tracked as such",
    "private_firms": "the model has value added, not counts of firms",
    "individual_businesses": "the model has value added, not counts of businesses",
}


def not_represented(path: Path | str = HISTORY_FILE) -> dict[str, str]:
    """Indicators of the history table with no counterpart in the model, and why."""
    table = load(path)
    missing = sorted(i for i in set(table["indicator"]) if not _represented(i))
    return {name: WHY_NOT_REPRESENTED.get(name, "no counterpart in the model")
            for name in missing}


def simulated(fig: Figure, data: xr.Dataset) -> xr.DataArray:
    """The model's counterpart of a figure, over runs (worst year for a bound)."""
    if fig.level != fig.indicator:
        level = data[fig.level]
        ratio = level.sel(time=fig.year) / level.sel(time=HISTORY_YEARS.start)
        return 100.0 * (ratio ** (1.0 / (fig.year - HISTORY_YEARS.start)) - 1.0)
    series = data[fig.indicator]
    if fig.comparator == "<":
        return series.sel(time=list(HISTORY_YEARS)).max("time")
    return series.sel(time=fig.year)


def error(fig: Figure, model_value: xr.DataArray | float):
    """Signed error in the figure's unit (0 inside a bound)."""
    if fig.comparator == "<":
        return np.maximum(0.0, model_value - fig.value)
    return model_value - fig.value


def implausibility(data: xr.Dataset, figs: list[Figure] | None = None) -> xr.DataArray:
    """|error| / sd of every figure, ``(run, figure)``; non-finite runs get +inf."""
    figs = figures() if figs is None else figs
    cols = []
    for fig in figs:
        z = np.abs(np.asarray(error(fig, simulated(fig, data)), dtype=float)) / fig.sd
        cols.append(np.where(np.isfinite(z), z, np.inf))
    return xr.DataArray(np.column_stack(cols) if cols else np.zeros((data.sizes["run"], 0)),
                        dims=("run", "figure"),
                        coords={"run": data["run"].values, "figure": [f.key for f in figs]})


def plausible(data: xr.Dataset, figs: list[Figure] | None = None) -> xr.DataArray:
    """Runs (``run`` dim) no figure rules out: implausibility at most CUTOFF everywhere."""
    return implausibility(data, figs).max("figure") <= CUTOFF
