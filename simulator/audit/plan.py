"""The plan as the audit reads it: goals, history figures as printed, and their accounting.

Reads ``scenarios/goals.toml`` (any indicator names, any years), ``models/data/
history.csv`` (extra columns are ignored) and the optional ``models/data/accounts.toml``
(price indices, sums, products, stated growth rates, the history-pace band). A figure
printed with d decimals is taken as exact to ± half a unit of its last digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import goals as goals_mod
from .. import tomlfile
from ..errors import InputError
from ..provenance import file_hash

HISTORY_COLUMNS = ("indicator", "year", "value", "unit", "comparator", "section", "quote")


@dataclass(frozen=True)
class Figure:
    """One figure of the plan's history, with its rounding (± half its last printed digit)."""

    indicator: str
    year: int
    value: float
    rounding: float
    unit: str
    comparator: str
    derived: bool
    section: str
    quote: str


@dataclass(frozen=True)
class Rate:
    """An average growth rate the plan states: compound growth of ``of``, %/yr."""

    of: str
    start: int
    end: int
    value: float
    rounding: float
    prices: str  # "current" or "constant"
    section: str
    quote: str
    figure: str = ""  # the history.csv indicator holding it, if any


@dataclass(frozen=True)
class PriceIndex:
    nominal: str
    real: str
    base_year: int
    band: tuple[float, float] | None
    band_note: str = ""


@dataclass(frozen=True)
class Sum:
    total: str
    parts: tuple[str, ...]
    shares: tuple[str, ...] = ()


@dataclass(frozen=True)
class Product:
    total: str
    per_capita: str
    count: str
    scale: float = 1.0


@dataclass(frozen=True)
class Plan:
    goals: goals_mod.GoalSet
    figures: tuple[Figure, ...]
    rates: tuple[Rate, ...] = ()
    price_indices: tuple[PriceIndex, ...] = ()
    sums: tuple[Sum, ...] = ()
    products: tuple[Product, ...] = ()
    pace_factor: float | None = None
    sources: dict[str, str] = field(default_factory=dict)  # file -> sha256

    def figure(self, indicator: str, year: int) -> Figure | None:
        """The reported figure (comparator ``=``) of an indicator in a year, if any."""
        for f in self.figures:
            if f.indicator == indicator and f.year == year and f.comparator == "=":
                return f
        return None

    def years_of(self, indicator: str) -> list[int]:
        return sorted({f.year for f in self.figures
                       if f.indicator == indicator and f.comparator == "="})

    def price_index_of(self, real: str) -> PriceIndex | None:
        return next((p for p in self.price_indices if p.real == real), None)

    def base(self, indicator: str, year: int) -> Figure | None:
        """The figure an indicator starts from in ``year``; a real indicator in its base
        year is its nominal counterpart there (constant prices of that year)."""
        fig = self.figure(indicator, year)
        index = self.price_index_of(indicator)
        if fig is None and index is not None and index.base_year == year:
            fig = self.figure(index.nominal, year)
        return fig


def rounding_of(printed: str) -> float:
    """Half a unit of the last printed digit: ``"120.88"`` -> 0.005, ``"176000"`` -> 0.5."""
    text = printed.strip().lower()
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rounding_of(mantissa) * 10.0 ** int(exponent)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


def _read_history(path: Path) -> tuple[Figure, ...]:
    if not path.is_file():
        raise InputError(path, None, "file not found", "give the path of the plan's history.csv")
    try:
        table = pd.read_csv(path, encoding="utf-8", dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(path, None, f"not a UTF-8 CSV table ({exc})",
                         "save it as UTF-8 CSV with a header row") from exc
    missing = [c for c in HISTORY_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, missing[0], "column missing",
                         f"give the columns {', '.join(HISTORY_COLUMNS)} (others are ignored)")
    figures = []
    for i, row in enumerate(table.itertuples(index=False), start=2):
        try:
            year, value = int(row.year), float(row.value)
        except ValueError as exc:
            raise InputError(path, f"line {i}", f"year {row.year!r} or value {row.value!r} "
                             "is not a number", "write the year and the value as numbers") from exc
        if not math.isfinite(value):
            raise InputError(path, f"line {i}", f"value {row.value!r} is not finite",
                             "write the figure the plan prints")
        derived = getattr(row, "derived", "no").strip() == "yes"
        figures.append(Figure(row.indicator.strip(), year, value, rounding_of(row.value),
                              row.unit, row.comparator.strip(), derived, row.section, row.quote))
    return tuple(figures)


def _need(path: Path, where: str, table: dict, key: str, kind: type | tuple):
    value = table.get(key)
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is list:
        ok = ok and value and all(isinstance(v, str) for v in value)
    if not ok:
        raise InputError(path, f"{where}.{key}", "missing or of the wrong type",
                         f"give {key} as in models/data/accounts.toml")
    return value


def _tables(path: Path, data: dict, name: str) -> list[tuple[str, dict]]:
    tables = data.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise InputError(path, name, "not an array of tables", f"write [[{name}]] tables")
    return [(f"{name}[{i}]", t) for i, t in enumerate(tables)]


def _rate(path: Path, where: str, t: dict, figures: tuple[Figure, ...]) -> Rate:
    of = _need(path, where, t, "of", str)
    start, end = _need(path, where, t, "from", int), _need(path, where, t, "to", int)
    prices = t.get("prices")
    if prices not in ("current", "constant") or start >= end:
        raise InputError(path, f"{where}.prices", f"prices {prices!r}, from {start} to {end}",
                         'give prices = "current" or "constant" and from < to')
    if "figure" in t:
        name = _need(path, where, t, "figure", str)
        fig = next((f for f in figures if f.indicator == name and f.year == end), None)
        if fig is None:
            raise InputError(path, f"{where}.figure", f"no {name} in {end} in the history",
                             "name a history.csv indicator with a row in the `to` year")
        return Rate(of, start, end, fig.value, fig.rounding, prices, fig.section, fig.quote,
                    name)
    value = _need(path, where, t, "value", (int, float))
    return Rate(of, start, end, float(value), rounding_of(repr(float(value))), prices,
                _need(path, where, t, "section", str), _need(path, where, t, "quote", str))


def _read_accounts(path: Path, figures: tuple[Figure, ...]) -> dict:
    data = tomlfile.read(path, "file not found", "give an existing accounts.toml or none")
    out = {"rates": [], "price_indices": [], "sums": [], "products": [], "pace_factor": None}
    for where, t in _tables(path, data, "price_index"):
        band = t.get("inflation_band")
        if band is not None and not (isinstance(band, list) and len(band) == 2
                                     and all(isinstance(b, (int, float)) for b in band)
                                     and band[0] < band[1]):
            raise InputError(path, f"{where}.inflation_band", f"{band!r} is not [low, high]",
                             "give two numbers in %/yr, low < high")
        out["price_indices"].append(PriceIndex(
            _need(path, where, t, "nominal", str), _need(path, where, t, "real", str),
            _need(path, where, t, "base_year", int),
            None if band is None else (float(band[0]), float(band[1])), t.get("band_note", "")))
    for where, t in _tables(path, data, "sum"):
        shares = tuple(t.get("shares", ()))
        parts = tuple(_need(path, where, t, "parts", list))
        if shares and len(shares) != len(parts):
            raise InputError(path, f"{where}.shares", "not one share per part",
                             "list one share indicator per part, in the same order")
        out["sums"].append(Sum(_need(path, where, t, "total", str), parts, shares))
    for where, t in _tables(path, data, "product"):
        scale = t.get("scale", 1.0)
        if not isinstance(scale, (int, float)) or not scale > 0:
            raise InputError(path, f"{where}.scale", f"{scale!r} is not positive",
                             "give the positive factor converting the total's unit")
        out["products"].append(Product(_need(path, where, t, "total", str),
                                       _need(path, where, t, "per_capita", str),
                                       _need(path, where, t, "count", str), float(scale)))
    out["rates"] = [_rate(path, where, t, figures) for where, t in _tables(path, data, "rate")]
    pace = data.get("history_pace", {})
    if "factor" in pace:
        factor = pace["factor"]
        if not isinstance(factor, (int, float)) or not factor > 1:
            raise InputError(path, "history_pace.factor", f"{factor!r} is not above 1",
                             "give a factor above 1, e.g. 1.5")
        out["pace_factor"] = float(factor)
    return out


def load(goals_file: Path | str, history_file: Path | str,
         accounts_file: Path | str | None = None) -> Plan:
    """Read and check the plan's files; bad content raises :class:`InputError`.

    ``accounts_file`` defaults to ``accounts.toml`` beside the history file, if present.
    """
    goals_file, history_file = Path(goals_file), Path(history_file)
    goal_set = goals_mod.load(goals_file, years_available=None, vocabulary=None)
    figures = _read_history(history_file)
    if accounts_file is None and (history_file.parent / "accounts.toml").is_file():
        accounts_file = history_file.parent / "accounts.toml"
    accounts = {} if accounts_file is None else _read_accounts(Path(accounts_file), figures)
    sources = {str(p): file_hash(p) for p in (goals_file, history_file, accounts_file)
               if p is not None}
    return Plan(goal_set, figures, tuple(accounts.get("rates", ())),
                tuple(accounts.get("price_indices", ())), tuple(accounts.get("sums", ())),
                tuple(accounts.get("products", ())), accounts.get("pace_factor"), sources)
