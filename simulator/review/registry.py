"""Vensim unit strings as pint quantities: the registry :mod:`.units` checks with.

``Units().parse("CNY100M/Year")`` reads a Vensim units expression (names, numbers,
``*``, ``/``, ``^``, parentheses). Names come from :data:`UNIT_DEFINITIONS`
(time, money, people, energy, land, shares); ``Dmnl``, ``1``, ``fraction`` are
dimensionless and ``%`` is percent; a known name followed by a number with K, M
or B (``CNY100M``, ``CNY10K``, ``tce10K``) is that unit times the number, under
its own name; any other name becomes a new base unit (its own dimension), so a
model's ``Widget`` or ``household`` is checked like any other unit.
"""

from __future__ import annotations

import math
import re

import pint

UNIT_DEFINITIONS = (
    "Year = [time] = _ = year = Years = years = yr",
    "Month = Year / 12 = _ = month = Months = months",
    "Week = Year / 52 = _ = week = Weeks = weeks",
    "Day = Year / 365 = _ = day = Days = days",
    "Hour = Day / 24 = _ = hour = Hours = hours",
    "CNY = [currency] = _ = yuan = Yuan = RMB",
    "USD = [us_dollar] = _ = dollar = dollars = Dollar = Dollars",
    "person = [person] = _ = people = persons = Person = People = capita = Persons",
    "tce = [coal_equivalent] = _ = TCE",
    "m = [length] = _ = meter = meters = metre = metres",
    "km = 1000 * m",
    "m2 = m ** 2",
    "km2 = 1e6 * m ** 2",
    "ha = 1e4 * m ** 2 = _ = hectare = hectares",
    "mu = 1e4 / 15 * m ** 2",
    "percent = 0.01 = %",
    "permille = 0.001",
)
"""The registry: time, money, people, energy, land and shares, in Vensim spellings."""

DIMENSIONLESS_NAMES = {"dmnl", "dimensionless", "fraction", "unitless", "nounits", "1"}
MULTIPLIERS = {"K": 1e3, "M": 1e6, "B": 1e9}
_MULTIPLIED = re.compile(r"^(?P<base>.*[A-Za-z])(?P<number>\d+(?:\.\d+)?)(?P<mult>[KMB])$")
_TOKEN = re.compile(r"\s*(?:(?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)(?![\w%])|"
                    r"(?P<op>[*/^()])|(?P<name>[^\s*/^()]+))")


class Units:
    """Vensim unit strings as pint quantities of one registry (unknown names become base units)."""

    def __init__(self):
        self.registry = pint.UnitRegistry(None)
        for line in UNIT_DEFINITIONS:
            self.registry.define(line)
        self.one = self.registry.Quantity(1)

    def parse(self, text: str) -> pint.Quantity:
        """The quantity a Vensim units string stands for; ValueError if malformed."""
        flat = re.sub(r"(?<=[^\s*/^()])\s+(?=[^\s*/^()])", "_", text.strip())
        tokens = []
        pos = 0
        while pos < len(flat):
            match = _TOKEN.match(flat, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"cannot read {flat[pos:]!r}")
            kind = match.lastgroup
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        value, rest = self._product(tokens)
        if rest:
            raise ValueError(f"unexpected {rest[0][1]!r}")
        return value

    def _product(self, tokens):
        value, tokens = self._power(tokens)
        while tokens and tokens[0] in (("op", "*"), ("op", "/")):
            op = tokens[0][1]
            right, tokens = self._power(tokens[1:])
            value = value * right if op == "*" else value / right
        return value, tokens

    def _power(self, tokens):
        value, tokens = self._factor(tokens)
        if tokens and tokens[0] == ("op", "^"):
            if len(tokens) < 2 or tokens[1][0] != "number":
                raise ValueError("'^' needs a number")
            value, tokens = value ** float(tokens[1][1]), tokens[2:]
        return value, tokens

    def _factor(self, tokens):
        if not tokens:
            raise ValueError("units end early")
        kind, text = tokens[0]
        if kind == "number":
            return self.one * float(text), tokens[1:]
        if kind == "name":
            return self.unit(text), tokens[1:]
        if text == "(":
            value, rest = self._product(tokens[1:])
            if not rest or rest[0] != ("op", ")"):
                raise ValueError("unbalanced '('")
            return value, rest[1:]
        raise ValueError(f"unexpected {text!r}")

    def unit(self, name: str) -> pint.Quantity:
        """One unit name: known, a known name times K/M/B, dimensionless, or a new base unit."""
        if name.lower() in DIMENSIONLESS_NAMES:
            return self.one
        key = re.sub(r"\W", "_", name) if name != "%" else name
        try:
            return self.registry.Quantity(1, key)
        except pint.errors.UndefinedUnitError:
            pass
        match = _MULTIPLIED.match(name)
        if match:
            base = self.unit(match["base"])
            number = float(match["number"]) * MULTIPLIERS[match["mult"]]
            self.registry.define(f"{key} = {number * base.magnitude!r} * {base.units}")
        else:
            self.registry.define(f"{key} = [{key}]")
        return self.registry.Quantity(1, key)

    @staticmethod
    def show(q: pint.Quantity | None) -> str:
        """A quantity in Vensim-like spelling (``CNY100M/Year``, ``0.001/Year``, ``Dmnl``)."""
        if q is None:
            return "unknown"
        units = f"{q.units:~C}"
        units = "Dmnl" if units in ("", "dimensionless") else units
        if math.isclose(q.magnitude, 1.0):
            return units
        if units.startswith("1/"):
            return f"{q.magnitude:g}{units[1:]}"
        return f"{q.magnitude:g} {units}" if units != "Dmnl" else f"{q.magnitude:g}"
