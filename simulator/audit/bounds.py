"""A goal as an interval on its indicator's level in a year, and back into its own measure.

A level goal bounds the level directly; a ratio, growth or increase goal bounds it
through the indicator's figure in the goal's base year (history.csv; a real indicator
in its price base year takes its nominal figure). Goal thresholds are exact; a 约/左右
tolerance widens the interval as in :func:`simulator.inputs.goals.margin`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..inputs.goals import Goal
from .finding import Item, num
from .plan import Figure, Plan


@dataclass(frozen=True)
class Bound:
    """Goal ``goal`` holds in ``year`` iff the level lies in [lo, hi] (open where strict)."""

    goal: Goal
    year: int
    lo: float
    hi: float
    lo_strict: bool
    hi_strict: bool
    base: Figure | None  # the figure a relative measure starts from

    @property
    def years(self) -> int:
        return self.year - self.base.year if self.base else 0

    def contains(self, other: Bound) -> bool:
        """Every level meeting ``other`` meets this goal too."""
        return (self.lo < other.lo or (self.lo == other.lo and
                                       (other.lo_strict or not self.lo_strict))) and \
               (self.hi > other.hi or (self.hi == other.hi and
                                       (other.hi_strict or not self.hi_strict)))

    def meets(self, other: Bound) -> bool:
        """Some level meets both."""
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        strict = any(b.lo == lo and b.lo_strict for b in (self, other)) or \
            any(b.hi == hi and b.hi_strict for b in (self, other))
        return lo < hi or (lo == hi and not strict)


def to_level(measure: str, x: float, base: float, years: int) -> float:
    if measure == "level":
        return x
    if measure == "ratio":
        return base * x
    if measure == "growth":
        return base * (1.0 + x / 100.0) ** years if x > -100 else math.nan
    return base + x * years


def to_measure(measure: str, level: float, base: float, years: int) -> float:
    if measure == "level" or not math.isfinite(level):
        return level
    if measure == "ratio":
        return level / base
    if measure == "growth":
        return 100.0 * ((level / base) ** (1.0 / years) - 1.0) if level / base > 0 else math.nan
    return (level - base) / years


def bound(plan: Plan, goal: Goal, year: int) -> Bound | str:
    """The goal's interval on the level in ``year``, or why it cannot be computed."""
    base = None
    if goal.measure != "level":
        base = plan.base(goal.indicator, goal.base_year)
        if base is None:
            return f"no figure of {goal.indicator} in {goal.base_year} to start from"
        if base.value <= 0 and goal.measure in ("ratio", "growth"):
            return f"{goal.indicator} is {base.value:g} in {goal.base_year}: no growth from it"
    t, tol, years = goal.threshold, goal.tolerance, year - (goal.base_year or year)
    lo_x, hi_x = {">=": (t - tol, math.inf), ">": (t - tol, math.inf),
                  "<=": (-math.inf, t + tol), "<": (-math.inf, t + tol),
                  "approx": (t - tol, t + tol)}[goal.comparator]
    bvalue = base.value if base else 0.0
    lo = -math.inf if lo_x == -math.inf else to_level(goal.measure, lo_x, bvalue, years)
    hi = math.inf if hi_x == math.inf else to_level(goal.measure, hi_x, bvalue, years)
    if math.isnan(lo) or math.isnan(hi):
        return f"{goal.describe()} gives no level (a fall of 100% or more)"
    strict = goal.comparator in (">", "<") and tol == 0
    return Bound(goal, year, lo, hi, strict and lo_x != -math.inf, strict and hi_x != math.inf,
                 base)


def goal_item(goal: Goal) -> Item:
    return Item("goal", goal.id, goal.describe(), goal.section, goal.quote)


def figure_item(fig: Figure) -> Item:
    derived = " (derived)" if fig.derived else ""
    return Item("figure", f"{fig.indicator} {fig.year}",
                f"{fig.indicator} {fig.year} = {num(fig.value, 6)} {fig.unit}{derived}",
                fig.section, fig.quote)


def side(b: Bound) -> str:
    """``≥ 15000`` / ``≤ 3`` / ``in [228000, 252000]`` for the level interval."""
    if b.hi == math.inf:
        return f"{'>' if b.lo_strict else '≥'} {num(b.lo)}"
    if b.lo == -math.inf:
        return f"{'<' if b.hi_strict else '≤'} {num(b.hi)}"
    return f"in [{num(b.lo)}, {num(b.hi)}]"


def reference(plan: Plan, indicator: str, year: int) -> Figure | None:
    """The latest figure of the indicator before ``year`` (a real indicator: its nominal
    figure in the price base year, if that is later)."""
    years = [y for y in plan.years_of(indicator) if y < year]
    index = plan.price_index_of(indicator)
    if index is not None and index.base_year < year:
        years.append(index.base_year)
    return plan.base(indicator, max(years)) if years else None


def explain(measure: str, level: float, base: Figure | None, year: int,
            from_threshold: bool) -> str:
    """The arithmetic linking a level in ``year`` and its value in ``measure`` from ``base``:
    threshold -> level when ``from_threshold`` (the goal's own measure), else level -> measure."""
    if measure == "level" or base is None or not math.isfinite(level):
        return num(level)
    b, n = base.value, year - base.year
    x = to_measure(measure, level, b, n)
    if measure == "growth":
        return (f"{num(b)} × (1 + {num(x)}%)^{n} = {num(level)}" if from_threshold
                else f"({num(level)} / {num(b)})^(1/{n}) − 1 = {num(x, 3)} %/yr")
    if measure == "ratio":
        return (f"{num(b)} × {num(x)} = {num(level)}" if from_threshold
                else f"{num(level)} / {num(b)} = {num(x, 4)}")
    return (f"{num(b)} + {n} × {num(x)} = {num(level)}" if from_threshold
            else f"({num(level)} − {num(b)}) / {n} = {num(x, 4)} per year")
