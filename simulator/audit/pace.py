"""History pace: the growth a goal needs against its indicator's growth in the history.

The goal's binding edge (its threshold; the centre of a 约 goal) in its last year is
read as compound growth from the indicator's latest figure before it. The history
pace is the growth between the indicator's first and last figures up to that
figure, or, failing two figures, a stated rate at the same prices (a real
indicator takes its nominal's constant-price rate). Outside [pace / factor, pace ×
factor], with ``factor`` from ``[history_pace]``, or in the opposite direction, the
goal departs from history.
"""

from __future__ import annotations

import math

from .bounds import bound, explain, figure_item, goal_item, reference, side
from .finding import Finding, Item, growth, num
from .plan import Figure, Plan


def history_pace(plan: Plan, indicator: str, until: int) -> tuple[float, str, list[Item]] | None:
    """The indicator's growth (%/yr) up to ``until``, how it was found, and from what."""
    years = [y for y in plan.years_of(indicator) if y <= until]
    if len(years) >= 2:
        f0, f1 = plan.figure(indicator, years[0]), plan.figure(indicator, years[-1])
        g = growth(f0.value, f1.value, f1.year - f0.year)
        if math.isfinite(g):
            how = (f"({num(f1.value)} / {num(f0.value)})^(1/{f1.year - f0.year}) − 1 = "
                   f"{num(g, 3)} %/yr over {f0.year}-{f1.year}")
            return g, how, [figure_item(f0), figure_item(f1)]
    index = plan.price_index_of(indicator)
    of, prices = (index.nominal, "constant") if index else (indicator, "current")
    for r in plan.rates:
        if r.of == of and r.prices == prices and r.end <= until:
            how = f"stated {num(r.value)} %/yr over {r.start}-{r.end} ({prices} prices)"
            return r.value, how, [rate_item(r)]
    return None


def rate_item(r) -> Item:
    ident = r.figure or f"{r.of} rate {r.start}-{r.end}"
    return Item("rate", ident, f"{r.of} grew {num(r.value)} %/yr {r.start}-{r.end} "
                f"({r.prices} prices)", r.section, r.quote)


def _edge(b) -> float:
    if math.isinf(b.hi):
        return b.lo
    if math.isinf(b.lo):
        return b.hi
    return 0.5 * (b.lo + b.hi)


def check(plan: Plan, unchecked: dict[str, str]) -> list[Finding]:
    """Findings for every goal with a base figure and a history pace; why not in ``unchecked``."""
    if plan.pace_factor is None:
        return []
    factor, out = plan.pace_factor, []
    for goal in plan.goals.goals:
        year = goal.years[-1]
        b = bound(plan, goal, year)
        base: Figure | None = b.base if not isinstance(b, str) and b.base else (
            reference(plan, goal.indicator, year))
        if isinstance(b, str) or base is None:
            unchecked.setdefault(goal.id, b if isinstance(b, str) else
                                 f"no history figure of {goal.indicator} before {year}")
            continue
        needed = growth(base.value, _edge(b), year - base.year)
        hist = history_pace(plan, goal.indicator, base.year)
        if hist is None or not math.isfinite(needed):
            unchecked.setdefault(goal.id, f"{goal.indicator} is {num(base.value)} in {base.year} "
                                 f"(the goal's threshold is {num(needed, 3)} %/yr from it) but has no "
                                 "earlier figure or stated rate: no history pace to compare")
            continue
        pace, how, sources = hist
        same_way = needed * pace > 0 or needed == pace == 0
        ratio = needed / pace if pace else math.inf
        ok = same_way and 1.0 / factor <= ratio <= factor
        verdict = "consistent" if ok else "departs"
        gap = 0.0 if ok else abs(needed - pace)
        arithmetic = (f"{goal.id}: {explain('growth', _edge(b), base, year, False)} from "
                      f"{base.year}; history: {how}; ratio {num(ratio, 3)} (band "
                      f"{num(1 / factor, 3)}-{num(factor, 3)})")
        word = "faster" if needed > pace else "slower"
        en = (f"{goal.id} ({goal.indicator} {side(b)} in {year}) needs {num(needed, 3)} %/yr "
              f"from {base.year}, against {num(pace, 3)} %/yr in the history")
        zh = (f"{goal.id}（{year}年{goal.indicator}{side(b)}）需要自{base.year}年起年均"
              f"{num(needed, 3)}%，历史年均{num(pace, 3)}%")
        if ok:
            en, zh = en + ": in step with it.", zh + "，与历史节奏相符。"
        else:
            en += f": {num(ratio, 2)} times that pace, {word} than history by more than the band."
            zh += f"，为历史的{num(ratio, 2)}倍，{'快' if needed > pace else '慢'}于历史节奏，超出设定范围。"
        items = (goal_item(goal), figure_item(base), *sources)
        out.append(Finding("history_pace", verdict, items, arithmetic, gap, "%/yr", en, zh,
                           numbers={"needed": needed, "history": pace, "ratio": ratio}))
    return out
