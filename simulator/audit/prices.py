"""Nominal against real: the inflation a current-price goal assumes beside a real-growth goal.

For each ``[[price_index]]`` and each year with goals on both the nominal and the real
indicator bounding the same side, the binding nominal level over the binding real level
gives the average inflation from the price base year that makes the two agree:
π = (N / R)^(1 / years) − 1. Outside ``inflation_band`` it is a mismatch; the
history's own deflator (nominal growth against a stated constant-price rate) is shown
beside it.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .bounds import bound, figure_item, goal_item
from .finding import Finding, Item, growth, num
from .pace import rate_item
from .plan import Plan, PriceIndex


def _binding(plan: Plan, indicator: str) -> dict[int, tuple[str, float, object]]:
    """Per year: the binding side ("lo" or "hi"), its level and its bound."""
    per_year = defaultdict(list)
    for goal in plan.goals.goals:
        if goal.indicator == indicator:
            for year in goal.years:
                b = bound(plan, goal, year)
                if not isinstance(b, str):
                    per_year[year].append(b)
    out = {}
    for year, bs in per_year.items():
        lows = [b for b in bs if math.isfinite(b.lo)]
        highs = [b for b in bs if math.isfinite(b.hi)]
        if lows:
            top = max(lows, key=lambda b: b.lo)
            out[(year, "lo")] = top
        if highs:
            out[(year, "hi")] = min(highs, key=lambda b: b.hi)
    return out


def history_deflator(plan: Plan, index: PriceIndex) -> tuple[float, str, list[Item]] | None:
    for r in plan.rates:
        if r.of != index.nominal or r.prices != "constant":
            continue
        f0, f1 = plan.figure(index.nominal, r.start), plan.figure(index.nominal, r.end)
        if f0 is None or f1 is None:
            continue
        nominal = growth(f0.value, f1.value, r.end - r.start)
        d = 100.0 * ((1 + nominal / 100) / (1 + r.value / 100) - 1)
        how = (f"{r.start}-{r.end}: {num(nominal, 3)} %/yr current against {num(r.value)} %/yr "
               f"constant prices, deflator {num(d, 2)} %/yr")
        return d, how, [figure_item(f0), figure_item(f1), rate_item(r)]
    return None


def check(plan: Plan) -> list[Finding]:
    out = []
    for index in plan.price_indices:
        if index.band is None:
            continue
        low, high = index.band
        nominal, real = _binding(plan, index.nominal), _binding(plan, index.real)
        hist = history_deflator(plan, index)
        for key in sorted(set(nominal) & set(real)):
            year, _ = key
            n_b, r_b = nominal[key], real[key]
            years = year - index.base_year
            n_level = n_b.lo if key[1] == "lo" else n_b.hi
            r_level = r_b.lo if key[1] == "lo" else r_b.hi
            if years <= 0 or n_level <= 0 or r_level <= 0:
                continue
            pi = growth(r_level, n_level, years)
            ok = low <= pi <= high
            gap = 0.0 if ok else (low - pi if pi < low else pi - high)
            at_low = r_level * (1 + low / 100) ** years
            at_high = r_level * (1 + high / 100) ** years
            arithmetic = (f"{r_b.goal.id} gives {index.real} {year} = {num(r_level)} "
                          f"({index.base_year} prices); {n_b.goal.id}: {num(n_level)} current; "
                          f"({num(n_level)} / {num(r_level)})^(1/{years}) − 1 = {num(pi, 2)} %/yr "
                          f"inflation; band {num(low)}-{num(high)} %/yr gives "
                          f"{num(at_low)}-{num(at_high)} current")
            if hist:
                arithmetic += f"; history {hist[1]}"
            pair = f"{n_b.goal.id} ({index.nominal}, current prices) and {r_b.goal.id} " \
                   f"({index.real}, {index.base_year} prices)"
            en = f"{pair} agree only if prices rise {num(pi, 2)} %/yr {index.base_year}-{year}"
            zh = (f"{n_b.goal.id}（现价）与{r_b.goal.id}（{index.base_year}年不变价）只有在"
                  f"{index.base_year}-{year}年价格年均上涨{num(pi, 2)}%时才一致")
            if ok:
                en += f", within the plausible {num(low)}-{num(high)} %/yr."
                zh += f"，在合理区间{num(low)}-{num(high)}%之内。"
            else:
                side = "below" if pi < low else "above"
                least = "at least" if key[1] == "lo" else "at most"
                en += (f", {side} the plausible {num(low)}-{num(high)} %/yr: with plausible "
                       f"inflation the real goal means {least} {num(at_low)}-{num(at_high)} in "
                       f"current prices, not {num(n_level)}.")
                zh += (f"，{'低于' if pi < low else '高于'}合理区间{num(low)}-{num(high)}%："
                       f"按合理通胀，实际增长目标折合现价{num(at_low)}-{num(at_high)}，"
                       f"而非{num(n_level)}。")
            items = [goal_item(n_b.goal), goal_item(r_b.goal)]
            if r_b.base is not None:
                items.append(figure_item(r_b.base))
            items += hist[2] if hist else []
            numbers = {"inflation": pi, "band_low": low, "band_high": high,
                       "nominal_level": n_level, "real_level": r_level,
                       "history_deflator": hist[0] if hist else math.nan}
            out.append(Finding("nominal_real", "consistent" if ok else "mismatch", tuple(items),
                               arithmetic, gap, "%/yr", en, zh, numbers=numbers))
    return out
