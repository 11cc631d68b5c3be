"""Implied rates: goals on the same indicator and year, compared through the level they need.

Each goal becomes an interval on the level (:mod:`.bounds`). Two goals whose intervals
do not meet are impossible together; when one interval lies inside the other, the
narrower goal implies the wider one, which is redundant. The gap is read in the
measure of the rate goal (``%/yr`` for a growth goal), from the base-year figure.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .bounds import Bound, bound, explain, figure_item, goal_item, reference, side, to_measure
from .finding import VERDICTS, Finding, num
from .plan import Plan


def _frame(plan: Plan, a: Bound, b: Bound):
    """The measure, base figure and unit the pair is read in."""
    for g in (b, a):
        if g.goal.measure != "level":
            return g.goal.measure, g.base, g.goal.unit
    base = reference(plan, a.goal.indicator, a.year)
    if base is None:
        return "level", None, a.goal.unit
    return "growth", base, "%/yr"


def _read(measure: str, level: float, base, year: int) -> float:
    return level if base is None else to_measure(measure, level, base.value, year - base.year)


def _pair(plan: Plan, a: Bound, b: Bound) -> Finding | None:
    """One finding for two goals bounding the same level (``a`` the narrower, if any)."""
    if b.contains(a) and a.contains(b):
        verdict = "consistent"
    elif not a.meets(b):
        verdict = "impossible"
    elif b.contains(a):
        verdict = "redundant"
    else:
        verdict = "consistent"
    measure, base, unit = _frame(plan, a, b)
    # the sides that differ: a's lower edge against b's lower edge, or against b's upper edge
    if verdict == "impossible":
        la, lb = (a.lo, b.hi) if a.lo > b.hi or a.lo == b.hi else (a.hi, b.lo)
    else:  # the edges that differ, else any two finite edges
        pairs = [(a.lo, b.lo), (a.hi, b.hi), (a.lo, b.hi), (a.hi, b.lo)]
        finite = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
        if not finite:
            return None
        la, lb = next(((x, y) for x, y in finite[:2] if x != y), finite[0])
    xa, xb = _read(measure, la, base, a.year), _read(measure, lb, base, a.year)
    if not (math.isfinite(xa) and math.isfinite(xb)):
        return None
    gap = abs(xa - xb) if verdict != "consistent" else 0.0
    year, ind, ga, gb = a.year, a.goal.indicator, a.goal.id, b.goal.id
    lines = []
    if base is not None:
        alias = "" if base.indicator == ind else f"{ind} {base.year} = "
        lines.append(f"base {alias}{base.indicator} {base.year} = {num(base.value, 6)} "
                     f"{base.unit}")
    for g, level in ((a, la), (b, lb)):
        own = g.goal.measure == measure
        lines.append(f"{g.goal.id}: {explain(measure, level, base, year, from_threshold=own)}")
    read_a, read_b = f"{num(xa, 3)} {unit}", f"{num(xb, 3)} {unit}"
    if verdict == "impossible":
        en = (f"{ga} needs {ind} {side(a)} in {year} ({read_a}) but {gb} needs {side(b)} "
              f"({read_b}): no value meets both; they are {num(gap, 3)} {unit} apart.")
        zh = (f"{ga}要求{year}年{ind}{side(a)}（{read_a}），而{gb}要求{side(b)}（{read_b}）："
              f"没有任何数值能同时满足两者，相差{num(gap, 3)} {unit}。")
    elif verdict == "redundant":
        en = (f"{ga} needs {ind} {side(a)} in {year} ({read_a}); {gb} asks only {side(b)} "
              f"({read_b}), {num(gap, 3)} {unit} less. {ga} makes {gb} redundant, and meeting "
              f"{gb} alone does not meet {ga}.")
        zh = (f"{ga}要求{year}年{ind}{side(a)}（{read_a}），{gb}只要求{side(b)}（{read_b}），"
              f"相差{num(gap, 3)} {unit}。前者成立则后者必然成立，后者多余；仅达到后者并不能实现前者。")
    else:
        en = (f"{ga} ({side(a)}, {read_a}) and {gb} ({side(b)}, {read_b}) can hold together "
              f"in {year}, and neither implies the other."
              if not (b.contains(a) and a.contains(b))
              else f"{ga} and {gb} ask the same of {ind} in {year} ({read_a}).")
        zh = (f"{ga}与{gb}在{year}年可以同时成立（{read_a}；{read_b}），且互不蕴含。"
              if not (b.contains(a) and a.contains(b))
              else f"{ga}与{gb}对{year}年{ind}的要求相同（{read_a}）。")
    items = [goal_item(a.goal), goal_item(b.goal)] + ([figure_item(base)] if base else [])
    numbers = {"first": xa, "second": xb, "first_level": la, "second_level": lb}
    return Finding("implied_rate", verdict, tuple(items), "; ".join(lines), gap, unit, en, zh,
                   (gb,) if verdict == "redundant" else (), numbers)


def check(plan: Plan, unchecked: dict[str, str]) -> list[Finding]:
    """Findings for every pair of goals on the same indicator and year."""
    by_level: dict[tuple[str, int], list[Bound]] = defaultdict(list)
    for goal in plan.goals.goals:
        for year in goal.years:
            b = bound(plan, goal, year)
            if isinstance(b, str):
                unchecked.setdefault(goal.id, b)
            else:
                by_level[(goal.indicator, year)].append(b)
    rank = list(VERDICTS)
    found: dict[frozenset, Finding] = {}
    for bounds in by_level.values():
        for i, x in enumerate(bounds):
            for y in bounds[i + 1:]:
                if x.goal.id == y.goal.id:
                    continue
                a, b = (y, x) if x.contains(y) and not y.contains(x) else (x, y)
                f = _pair(plan, a, b)
                key = frozenset((x.goal.id, y.goal.id))
                if f and (key not in found or rank.index(f.verdict)
                          < rank.index(found[key].verdict)):
                    found[key] = f
    return list(found.values())
