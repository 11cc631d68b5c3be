"""The public vocabulary of indicators, mapped to model variables in this one place.

Goals, outputs, notebooks and charts name indicators (``gdp_real``), never model
variables (``GDP real``). An indicator is either a model variable read as is, or
a model variable normalised to its value in a base year (``energy_intensity_index``).
"""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr

BASE_YEAR = 2005


@dataclass(frozen=True)
class Indicator:
    """One indicator of the public vocabulary."""

    name: str
    variable: str
    unit: str
    description: str
    index_to_year: int | None = None  # divide by the value in this year (index = 1 there)
    year_on_year: bool = False  # percent change from the previous output time (see below)


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in [
        Indicator("population", "population", "person", "Resident population"),
        Indicator(
            "natural_growth_rate", "natural growth rate", "‰/yr",
            "Births minus deaths per 1,000 residents",
        ),
        Indicator("net_migration", "net migration", "person/yr", "Net in-migration"),
        Indicator("gdp_real", "GDP real", "亿元 (2005 prices)", "GDP at constant 2005 prices"),
        Indicator("gdp_nominal", "GDP nominal", "亿元 (current)", "GDP at current prices"),
        Indicator(
            "gdp_real_growth", "GDP real", "%/yr",
            "Real GDP growth over the year to each date (at the first date, over the first year)",
            year_on_year=True,
        ),
        Indicator("va_primary", "primary VA", "亿元 (current)", "Primary value added"),
        Indicator("va_secondary", "secondary VA", "亿元 (current)", "Secondary value added"),
        Indicator("va_tertiary", "tertiary VA", "亿元 (current)", "Tertiary value added"),
        Indicator(
            "va_primary_real", "primary VA real", "亿元 (2005 prices)",
            "Primary value added at constant 2005 prices",
        ),
        Indicator(
            "va_secondary_real", "secondary VA real", "亿元 (2005 prices)",
            "Secondary value added at constant 2005 prices",
        ),
        Indicator(
            "va_tertiary_real", "tertiary VA real", "亿元 (2005 prices)",
            "Tertiary value added at constant 2005 prices",
        ),
        Indicator("primary_share", "primary share", "%", "Primary share of GDP"),
        Indicator("secondary_share", "secondary share", "%", "Secondary share of GDP"),
        Indicator("tertiary_share", "tertiary share", "%", "Tertiary share of GDP"),
        Indicator("gdp_per_capita", "GDP per capita", "元 (current)", "GDP per resident"),
        Indicator(
            "gdp_per_capita_usd", "GDP per capita USD", "US$ (current)",
            "GDP per resident in US dollars",
        ),
        Indicator("employment", "employment", "person", "Employed residents"),
        Indicator("jobs", "jobs", "person", "Jobs offered by the economy"),
        Indicator(
            "job_availability", "job availability", "1",
            "Jobs per job-seeker at frictional unemployment (1 = balanced)",
        ),
        Indicator(
            "unemployment_rate", "unemployment rate", "%", "Registered urban unemployment rate"
        ),
        Indicator(
            "urban_income", "urban income", "元/person/yr (current)",
            "Urban disposable income per person",
        ),
        Indicator(
            "rural_income", "rural income", "元/person/yr (current)",
            "Net income per farmer and herder",
        ),
        Indicator(
            "urban_consumption", "urban consumption per capita", "元/person/yr (current)",
            "Urban consumption spending per person",
        ),
        Indicator("engel_coefficient", "engel coefficient", "%", "Food share of consumption"),
        Indicator("retail_sales", "retail sales", "亿元 (current)", "Retail sales of consumer goods"),
        Indicator(
            "fixed_investment", "fixed investment", "亿元 (current)",
            "Local fixed-asset investment",
        ),
        Indicator("fiscal_revenue", "fiscal revenue", "亿元 (current)", "Local fiscal revenue"),
        Indicator(
            "fiscal_expenditure", "fiscal expenditure", "亿元 (current)",
            "District fiscal expenditure",
        ),
        Indicator(
            "budget_scale", "budget scale", "1",
            "Share of what the spending programmes ask for that the budget pays",
        ),
        Indicator(
            "public_investment_share", "public investment share", "1",
            "Share of fiscal expenditure left for public investment",
        ),
        Indicator(
            "science_spending_share", "science spending percent", "%",
            "Science share of fiscal expenditure",
        ),
        Indicator(
            "culture_spending_share", "culture spending percent", "%",
            "Culture share of fiscal expenditure",
        ),
        Indicator("energy_use", "energy use", "万tce/yr", "Energy use"),
        Indicator(
            "energy_intensity", "energy intensity", "tce/万元 (2005 prices)",
            "Energy use per 10,000 yuan of real GDP",
        ),
        Indicator(
            "energy_intensity_index", "energy intensity", "2005 = 1",
            "Energy use per unit of real GDP relative to 2005", index_to_year=BASE_YEAR,
        ),
        Indicator("built_up_area", "built up area", "km²", "Built-up area"),
        Indicator("green_area", "green area", "km²", "Green area in the built-up area"),
        Indicator("green_ratio", "green ratio", "%", "Built-up green ratio"),
        Indicator(
            "public_green_per_capita", "public green per capita", "m²/person",
            "Public green area per resident",
        ),
    ]
}


def _year_on_year(values: xr.DataArray) -> xr.DataArray:
    """Percent change from the previous output time; the first time, which has no previous
    value, takes the change over the first interval (so no value is undefined)."""
    growth = 100.0 * (values / values.shift(time=1) - 1.0)
    if values.sizes["time"] > 1:
        growth[{"time": 0}] = growth.isel(time=1)
    return growth


def model_variables(names: list[str] | None = None) -> list[str]:
    """Model variables needed to compute the named indicators (all when ``names`` is None)."""
    chosen = INDICATORS.values() if names is None else [INDICATORS[n] for n in names]
    return sorted({i.variable for i in chosen})


def unknown(names: list[str]) -> list[str]:
    """The names that are not indicators."""
    return [n for n in names if n not in INDICATORS]


def from_model_output(raw: xr.Dataset, names: list[str] | None = None) -> xr.Dataset:
    """Indicators from model output (data variables named by model variable, dims run, time).

    Each indicator carries ``units`` and ``description`` attributes. An index indicator
    needs its base year among the output times.
    """
    chosen = list(INDICATORS) if names is None else names
    out = {}
    for name in chosen:
        ind = INDICATORS[name]
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
