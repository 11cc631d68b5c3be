"""Indicators: the public vocabulary, mapped to model variables by the project's file.

Goals, outputs, notebooks and charts name indicators (``gdp_real``), never model
variables (``GDP real``). A project's indicator file (manifest key ``indicators``)
defines each one::

    [indicator.gdp_real]
    variable = "GDP real"           # the model variable, read as is
    unit = "亿元 (2005 prices)"
    description = "GDP at constant 2005 prices"
    index_to_year = 2005            # optional: divided by its value in this year
    year_on_year = true             # optional: percent change from the previous output time

Every function takes the catalogue (``project.indicators``, a dict by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError
from . import tomlfile, validate

KEYS = {"variable", "unit", "description", "index_to_year", "year_on_year"}


@dataclass(frozen=True)
class Indicator:
    """One indicator of the public vocabulary."""

    name: str
    variable: str
    unit: str
    description: str
    index_to_year: int | None = None  # divide by the value in this year (index = 1 there)
    year_on_year: bool = False  # percent change from the previous output time (see below)


def load(path: Path | str) -> dict[str, Indicator]:
    """Read and check an indicator file; bad content raises :class:`InputError`."""
    path = Path(path)
    data = tomlfile.read(path, "indicator file not found",
                         "give the indicators file of the project (manifest key `indicators`)")
    tables = data.get("indicator")
    if not isinstance(tables, dict) or not tables:
        raise InputError(path, "indicator", "no [indicator.NAME] tables",
                         'add [indicator.NAME] with variable = "model variable"')
    out = {}
    for name, table in tables.items():
        key = f"indicator.{name}"
        validate.name(path, key, name)
        if not isinstance(table, dict):
            raise InputError(path, key, "not a table", f"write [indicator.{name}]")
        for k in table:
            if k not in KEYS:
                raise InputError(path, f"{key}.{k}", "unknown key",
                                 f"use only {', '.join(sorted(KEYS))}")
        if not isinstance(table.get("variable"), str) or not table["variable"].strip():
            raise InputError(path, f"{key}.variable", "missing",
                             'write variable = "the model variable"')
        base = table.get("index_to_year")
        if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
            raise InputError(path, f"{key}.index_to_year", f"{base!r} is not a year",
                             "write a model year, e.g. index_to_year = 2005")
        yoy = table.get("year_on_year", False)
        if not isinstance(yoy, bool):
            raise InputError(path, f"{key}.year_on_year", f"{yoy!r} is not true or false",
                             "write year_on_year = true")
        out[name] = Indicator(name, table["variable"], str(table.get("unit", "")),
                              str(table.get("description", name)), base, yoy)
    return out


def from_arrays(raw: dict[str, np.ndarray], times: np.ndarray,
                catalogue: dict[str, Indicator], names: list[str]) -> dict[str, np.ndarray]:
    """:func:`from_model_output` on arrays ``(run, time)`` by model variable: the same
    operations in the same order, so the same values bit for bit."""
    out = {}
    for name in names:
        ind = catalogue[name]
        values = raw[ind.variable]
        if ind.index_to_year is not None:
            at = np.flatnonzero(times == ind.index_to_year)
            if at.size != 1:
                raise KeyError(f"{name}: base year {ind.index_to_year} not among the times")
            values = values / values[:, at[0]:at[0] + 1]
        if ind.year_on_year:
            growth = np.full(values.shape, np.nan)
            growth[:, 1:] = 100.0 * (values[:, 1:] / values[:, :-1] - 1.0)
            if values.shape[1] > 1:
                growth[:, 0] = growth[:, 1]
            values = growth
        out[name] = values
    return out


def _year_on_year(values: xr.DataArray) -> xr.DataArray:
    """Percent change from the previous output time; the first time, which has no previous
    value, takes the change over the first interval (so no value is undefined)."""
    growth = 100.0 * (values / values.shift(time=1) - 1.0)
    if values.sizes["time"] > 1:
        growth[{"time": 0}] = growth.isel(time=1)
    return growth


def model_variables(catalogue: dict[str, Indicator], names: list[str] | None = None) -> list[str]:
    """Model variables needed to compute the named indicators (all when ``names`` is None)."""
    chosen = catalogue.values() if names is None else [catalogue[n] for n in names]
    return sorted({i.variable for i in chosen})


def base_years(catalogue: dict[str, Indicator], names: list[str] | None = None) -> set[int]:
    """Years index indicators among ``names`` divide by (they must be among the output)."""
    chosen = catalogue.values() if names is None else [catalogue[n] for n in names]
    return {i.index_to_year for i in chosen if i.index_to_year is not None}


def unknown(catalogue: dict[str, Indicator], names: list[str]) -> list[str]:
    """The names that are not indicators."""
    return [n for n in names if n not in catalogue]


def from_model_output(raw: xr.Dataset, catalogue: dict[str, Indicator],
                      names: list[str] | None = None) -> xr.Dataset:
    """Indicators from model output (data variables named by model variable, dims run, time).

    Each indicator carries ``units`` and ``description`` attributes. An index indicator
    needs its base year among the output times.
    """
    chosen = list(catalogue) if names is None else names
    out = {}
    for name in chosen:
        ind = catalogue[name]
        values = raw[ind.variable]
        if ind.index_to_year is not None:
            values = values / values.sel(time=ind.index_to_year)
        if ind.year_on_year:
            values = _year_on_year(values)
        values = values.copy()
        values.attrs = {"units": ind.unit, "description": ind.description,
                        "model_variable": ind.variable}
        out[name] = values
    return xr.Dataset(out)
