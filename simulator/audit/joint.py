"""Goals on different indicators that an identity ties together, checked as intervals.

In a goal year, each indicator of a ``[[sum]]`` or ``[[product]]`` takes the interval
its goals allow (parts and shares are never negative, shares at most 100). The goals
are impossible together when the identity cannot hold inside those intervals: shares
whose lower bounds add up past 100 (or upper bounds short of it), parts whose bounds
cannot make the total, per capita × count out of reach of the total. A check needs
goals on two indicators of the identity or more.
"""

from __future__ import annotations

import math

from .bounds import bound, goal_item
from .finding import Finding, num
from .plan import Plan


def _interval(plan: Plan, indicator: str, year: int, floor: float, ceiling: float):
    """The interval the goals allow for an indicator in a year, and the goals that set it."""
    lo, hi, goals = floor, ceiling, []
    for goal in plan.goals.goals:
        if goal.indicator == indicator and year in goal.years:
            b = bound(plan, goal, year)
            if not isinstance(b, str):
                lo, hi = max(lo, b.lo), min(hi, b.hi)
                goals.append(goal)
    return lo, hi, goals


def _finding(ok, goals, arithmetic, gap, unit, what_en, what_zh, numbers) -> Finding:
    if ok:
        en, zh = f"{what_en}: the goals leave room for it.", f"{what_zh}：各目标可以同时满足。"
    else:
        en = f"{what_en}: impossible, the goals' bounds miss by {num(gap, 3)} {unit}."
        zh = f"{what_zh}：不可能同时成立，目标边界相差{num(gap, 3)} {unit}。"
    return Finding("joint", "consistent" if ok else "impossible",
                   tuple(goal_item(g) for g in goals), arithmetic, 0.0 if ok else gap, unit,
                   en, zh, numbers=numbers)


def _informative(total, parts) -> bool:
    """Goals on two indicators or more, with bounds that could break total = Σ parts."""
    if sum(bool(x[2]) for x in (total, *parts)) < 2:
        return False
    return (math.isfinite(total[1]) and any(p[0] > 0 for p in parts)) or (
        total[0] > 0 and all(math.isfinite(p[1]) for p in parts))


def _sum_check(total, parts, unit, what_en, what_zh):
    """total = Σ parts with each an interval (lo, hi, goals)."""
    lo_sum, hi_sum = sum(p[0] for p in parts), sum(p[1] for p in parts)
    gap = max(0.0, lo_sum - total[1], total[0] - hi_sum)
    goals = [g for x in (total, *parts) for g in x[2]]
    arithmetic = (f"Σ lower bounds {num(lo_sum)}, Σ upper bounds {num(hi_sum)}; total allowed "
                  f"[{num(total[0])}, {num(total[1])}]")
    numbers = {"sum_low": lo_sum, "sum_high": hi_sum, "total_low": total[0],
               "total_high": total[1]}
    return _finding(gap == 0.0, goals, arithmetic, gap, unit, what_en, what_zh, numbers)


def check(plan: Plan) -> list[Finding]:
    years = sorted({y for g in plan.goals.goals for y in g.years})
    out = []
    for year in years:
        for s in plan.sums:
            parts = [_interval(plan, p, year, 0.0, math.inf) for p in s.parts]
            total = _interval(plan, s.total, year, 0.0, math.inf)
            if _informative(total, parts):
                out.append(_sum_check(total, parts, "", f"{s.total} = Σ parts in {year}",
                                      f"{year}年{s.total}等于各部分之和"))
            shares = [_interval(plan, n, year, 0.0, 100.0) for n in s.shares]
            if _informative((100.0, 100.0, []), shares):
                out.append(_sum_check((100.0, 100.0, []), shares, "points",
                                      f"shares of {s.total} sum to 100 in {year}",
                                      f"{year}年{s.total}各部分比重之和为100"))
        for p in plan.products:
            t, pc, c = (_interval(plan, n, year, 0.0, math.inf)
                        for n in (p.total, p.per_capita, p.count))
            if not all(x[2] for x in (t, pc, c)):
                continue
            lo, hi = pc[0] * c[0] / p.scale, pc[1] * c[1] / p.scale
            gap = max(0.0, lo - t[1], t[0] - hi)
            if math.isnan(gap):
                continue  # 0 × ∞ bounds: no arithmetic to judge
            arithmetic = (f"{p.per_capita} × {p.count} / {num(p.scale)} in [{num(lo)}, "
                          f"{num(hi)}]; {p.total} allowed [{num(t[0])}, {num(t[1])}]")
            out.append(_finding(gap == 0.0, [*t[2], *pc[2], *c[2]], arithmetic, gap, "",
                                f"{p.per_capita} × {p.count} = {p.total} in {year}",
                                f"{year}年{p.per_capita}×{p.count}={p.total}",
                                {"product_low": lo, "product_high": hi, "total_low": t[0],
                                 "total_high": t[1]}))
    return out
