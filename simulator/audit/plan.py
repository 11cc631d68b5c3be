"""The plan as the audit reads it: goals, history figures as printed, and their accounting.

Reads ``scenarios/goals.toml`` (any indicator names, any years), ``models/data/
history.csv`` (extra columns are ignored) and the optional ``models/data/accounts.toml``
(price indices, sums, products, stated growth rates, the history-pace band). A figure
printed with d decimals is taken as exact to ± half a unit of its last digit.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..inputs import goals as goals_mod
from ..inputs import tomlfile, validate
from ..running.provenance import file_hash

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


YEARS = (1, 9999)
ACCOUNT_KEYS = {"price_index": ("nominal", "real", "base_year", "inflation_band", "band_note"),
                "sum": ("total", "parts", "shares"),
                "product": ("total", "per_capita", "count", "scale"),
                "rate": ("of", "prices", "from", "to", "figure", "value", "section", "quote"),
                "history_pace": ("factor",)}
_ACCOUNTS_FIX = "see the comments of models/data/accounts.toml"


def _read_history(path: Path) -> tuple[Figure, ...]:
    table = validate.history_table(path, HISTORY_COLUMNS)
    return tuple(Figure(row.indicator, row.year, float(row.value), rounding_of(row.value),
                        row.unit, row.comparator, row.derived, row.section, row.quote)
                 for row in table.itertuples(index=False))


def _need(path: Path, where: str, table: dict, key: str, kind: type | tuple):
    """``table[key]`` checked by the validation layer: a name, a list of names, a year
    (``int``) or a finite number (``(int, float)``)."""
    value, at = table.get(key), f"{where}.{key}"
    fix = f"give {key} as in models/data/accounts.toml"
    if kind is str:
        return validate.string(path, at, value, allow_empty=False)
    if kind is list:
        return validate.names(path, at, value, fix)
    if kind is int:
        return validate.integer(path, at, value, *YEARS)
    return validate.number(path, at, value)


def _tables(path: Path, data: dict, name: str) -> list[tuple[str, dict]]:
    tables = data.get(name, [])
    fix = f"write [[{name}]] tables"
    validate.sequence(path, name, tables, fix, allow_empty=True)
    out = []
    for i, t in enumerate(tables):
        validate.table(path, f"{name}[{i}]", t, fix)
        validate.keys(path, f"{name}[{i}]", t, ACCOUNT_KEYS[name], _ACCOUNTS_FIX)
        out.append((f"{name}[{i}]", t))
    return out


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


def _pair(path: Path, key: str, value, fix: str) -> tuple[float, float]:
    items = validate.sequence(path, key, value, fix)
    if len(items) != 2:
        raise InputError(path, key, f"{len(items)} numbers, not [low, high]", fix)
    low, high = (validate.number(path, key, v) for v in items)
    if not low < high:
        raise InputError(path, key, f"[{low:g}, {high:g}] is not [low, high]", fix)
    return low, high


def _read_accounts(path: Path, figures: tuple[Figure, ...]) -> dict:
    data = tomlfile.read(path, "file not found", "give an existing accounts.toml or none")
    validate.keys(path, "", data, ACCOUNT_KEYS, _ACCOUNTS_FIX)
    out = {"rates": [], "price_indices": [], "sums": [], "products": [], "pace_factor": None}
    for where, t in _tables(path, data, "price_index"):
        band = t.get("inflation_band")
        out["price_indices"].append(PriceIndex(
            _need(path, where, t, "nominal", str), _need(path, where, t, "real", str),
            _need(path, where, t, "base_year", int),
            None if band is None else _pair(path, f"{where}.inflation_band", band,
                                            "give two numbers in %/yr, low < high"),
            validate.string(path, f"{where}.band_note", t.get("band_note", ""))))
    for where, t in _tables(path, data, "sum"):
        parts = tuple(_need(path, where, t, "parts", list))
        shares = tuple(_need(path, where, t, "shares", list)) if "shares" in t else ()
        if shares and len(shares) != len(parts):
            raise InputError(path, f"{where}.shares", "not one share per part",
                             "list one share indicator per part, in the same order")
        out["sums"].append(Sum(_need(path, where, t, "total", str), parts, shares))
    for where, t in _tables(path, data, "product"):
        scale = validate.number(path, f"{where}.scale", t.get("scale", 1.0))
        if not scale > 0:
            raise InputError(path, f"{where}.scale", f"{scale:g} is not positive",
                             "give the positive factor converting the total's unit")
        out["products"].append(Product(_need(path, where, t, "total", str),
                                       _need(path, where, t, "per_capita", str),
                                       _need(path, where, t, "count", str), scale))
    out["rates"] = [_rate(path, where, t, figures) for where, t in _tables(path, data, "rate")]
    pace = validate.table(path, "history_pace", data.get("history_pace", {}),
                          "write [history_pace] with factor = 1.5")
    validate.keys(path, "history_pace", pace, ACCOUNT_KEYS["history_pace"], _ACCOUNTS_FIX)
    if "factor" in pace:
        factor = validate.number(path, "history_pace.factor", pace["factor"])
        if not factor > 1:
            raise InputError(path, "history_pace.factor", f"{factor:g} is not above 1",
                             "give a factor above 1, e.g. 1.5")
        out["pace_factor"] = factor
    return out


def _known_names(path: Path, accounts: dict, known: set[str]) -> None:
    """Every indicator the accounts name is one of the history's or the goals'."""
    named = [(f"price_index[{i}]", (p.nominal, p.real))
             for i, p in enumerate(accounts["price_indices"])]
    named += [(f"sum[{i}]", (s.total, *s.parts, *s.shares)) for i, s in enumerate(accounts["sums"])]
    named += [(f"product[{i}]", (p.total, p.per_capita, p.count))
              for i, p in enumerate(accounts["products"])]
    named += [(f"rate[{i}].of", (r.of,)) for i, r in enumerate(accounts["rates"])]
    for where, names in named:
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise InputError(path, where, f"'{name}' is no indicator of the history or "
                                 f"the goals{hint}", "name an indicator of history.csv or "
                                 "goals.toml")


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
    if accounts:
        _known_names(Path(accounts_file), accounts,
                     {f.indicator for f in figures} | goals_mod.indicators_needed(goal_set))
    sources = {str(p): file_hash(p) for p in (goals_file, history_file, accounts_file)
               if p is not None}
    return Plan(goal_set, figures, tuple(accounts.get("rates", ())),
                tuple(accounts.get("price_indices", ())), tuple(accounts.get("sums", ())),
                tuple(accounts.get("products", ())), accounts.get("pace_factor"), sources)
