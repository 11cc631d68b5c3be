"""Accounting identities over the history figures, each within the figures' rounding.

Per ``[[sum]]``: the parts add up to the total, the shares to 100, each share is its
part over the total; the parts' stated growth rates, weighted by their shares in the
first year, give the total's stated rate. Per ``[[product]]``: per capita × count =
total × scale. Per stated current-price ``[[rate]]``: the rate matches the figures.
"""

from __future__ import annotations

import math

from .bounds import figure_item
from .finding import Finding, growth, num, spread
from .pace import rate_item
from .plan import Plan


def _finding(check, ok, items, arithmetic, gap, unit, what_en, what_zh,
             numbers=None) -> Finding:
    if ok:
        en, zh = f"{what_en}: holds within rounding.", f"{what_zh}：在四舍五入范围内成立。"
    else:
        en = f"{what_en}: off by {num(gap, 3)} {unit}, beyond the figures' rounding."
        zh = f"{what_zh}：相差{num(gap, 3)} {unit}，超出数字本身的四舍五入误差。"
    return Finding(check, "consistent" if ok else "mismatch", tuple(items), arithmetic,
                   0.0 if ok else gap, unit, en, zh, numbers=numbers or {})


def _years(plan: Plan, names) -> list[int]:
    sets = [set(plan.years_of(n)) for n in names]
    return sorted(set.intersection(*sets)) if sets else []


def _sums(plan: Plan) -> list[Finding]:
    out = []
    for s in plan.sums:
        for year in _years(plan, (s.total, *s.parts)):
            total, parts = plan.figure(s.total, year), [plan.figure(p, year) for p in s.parts]
            added = sum(p.value for p in parts)
            tol = total.rounding + sum(p.rounding for p in parts)
            gap = abs(added - total.value)
            arith = (f"{' + '.join(num(p.value) for p in parts)} = {num(added)} against "
                     f"{s.total} {num(total.value)} (rounding ± {num(tol, 3)})")
            out.append(_finding("identity", gap <= tol, [figure_item(total)] +
                                [figure_item(p) for p in parts], arith, gap, total.unit,
                                f"{s.total} {year} = Σ {', '.join(s.parts)}",
                                f"{year}年{s.total}等于各部分之和",
                                {"computed": added, "stated": total.value}))
        if not s.shares:
            continue
        for year in _years(plan, s.shares):
            shares = [plan.figure(n, year) for n in s.shares]
            added = sum(f.value for f in shares)
            tol, gap = sum(f.rounding for f in shares), abs(added - 100.0)
            arith = f"{' + '.join(num(f.value) for f in shares)} = {num(added)} (rounding ± {num(tol, 3)})"
            out.append(_finding("identity", gap <= tol, [figure_item(f) for f in shares], arith,
                                gap, "points", f"shares of {s.total} in {year} sum to 100",
                                f"{year}年{s.total}各部分比重之和为100",
                                {"computed": added, "stated": 100.0}))
        for year in _years(plan, (s.total, *s.parts, *s.shares)):
            total = plan.figure(s.total, year)
            worst, lines, items, ok = 0.0, [], [figure_item(total)], True
            for part_name, share_name in zip(s.parts, s.shares):
                part, share = plan.figure(part_name, year), plan.figure(share_name, year)
                lo, hi = spread(lambda v: 100.0 * v[0] / v[1], [part.value, total.value],
                                [part.rounding, total.rounding])
                computed = 100.0 * part.value / total.value
                gap = max(0.0, share.value - share.rounding - hi, lo - share.value - share.rounding)
                ok &= gap == 0.0
                worst = max(worst, abs(share.value - computed) if gap else 0.0)
                lines.append(f"{share_name} {num(share.value)} vs 100 × {num(part.value)} / "
                             f"{num(total.value)} = {num(computed, 4)}")
                items += [figure_item(part), figure_item(share)]
            out.append(_finding("identity", ok, items, "; ".join(lines), worst, "points",
                                f"shares of {s.total} in {year} are parts over the total",
                                f"{year}年各部分比重等于部分除以{s.total}",
                                {"largest_difference": worst}))
    return out


def _products(plan: Plan) -> list[Finding]:
    out = []
    for p in plan.products:
        for year in _years(plan, (p.total, p.per_capita, p.count)):
            t, pc, c = (plan.figure(n, year) for n in (p.total, p.per_capita, p.count))
            lo, hi = spread(lambda v, k=p.scale: v[0] * v[1] / k, [pc.value, c.value],
                            [pc.rounding, c.rounding])
            lo, hi = lo - t.rounding, hi + t.rounding
            product = pc.value * c.value / p.scale
            ok = lo <= t.value <= hi
            gap = 0.0 if ok else abs(product - t.value)
            arith = (f"{num(pc.value)} × {num(c.value)} / {num(p.scale)} = {num(product)} "
                     f"against {p.total} {num(t.value)}")
            out.append(_finding("identity", ok, [figure_item(t), figure_item(pc), figure_item(c)],
                                arith, gap, t.unit, f"{p.per_capita} × {p.count} = {p.total} "
                                f"in {year}", f"{year}年{p.per_capita}×{p.count}={p.total}",
                                {"computed": product, "stated": t.value}))
    return out


def _stated_rates(plan: Plan) -> list[Finding]:
    out = []
    for r in plan.rates:
        f0, f1 = plan.figure(r.of, r.start), plan.figure(r.of, r.end)
        if r.prices != "current" or f0 is None or f1 is None:
            continue
        n = r.end - r.start
        lo, hi = spread(lambda v, n=n: growth(v[0], v[1], n), [f0.value, f1.value],
                        [f0.rounding, f1.rounding])
        computed = growth(f0.value, f1.value, n)
        if not math.isfinite(computed):
            continue
        ok = lo - r.rounding <= r.value <= hi + r.rounding
        gap = 0.0 if ok else abs(computed - r.value)
        arith = (f"({num(f1.value)} / {num(f0.value)})^(1/{n}) − 1 = {num(computed, 3)} %/yr "
                 f"against the stated {num(r.value)} %/yr")
        if not ok:
            implied = f1.value / (1 + r.value / 100) ** n
            arith += f"; the stated rate implies {r.of} {r.start} = {num(implied, 4)}"
        out.append(_finding("stated_rate", ok, [rate_item(r), figure_item(f0), figure_item(f1)],
                            arith, gap, "%/yr", f"stated growth of {r.of} {r.start}-{r.end}",
                            f"{r.of} {r.start}-{r.end}年所述年均增速与数据推算值",
                            {"computed": computed, "stated": r.value}))
    return out


def _weighted_growth(plan: Plan) -> list[Finding]:
    out = []
    for s in plan.sums:
        for total_rate in (r for r in plan.rates if r.of == s.total):
            part_rates = [next((r for r in plan.rates if r.of == p and r.prices ==
                                total_rate.prices and (r.start, r.end) ==
                                (total_rate.start, total_rate.end)), None) for p in s.parts]
            if None in part_rates:
                continue
            start, n = total_rate.start, total_rate.end - total_rate.start
            weights = [plan.figure(w, start) for w in (s.shares or s.parts)]
            if None in weights:
                continue

            def implied(v, k=len(weights), n=n):  # noqa: B008
                w, g = v[:k], v[k:]
                return growth(sum(w), sum(wi * (1 + gi / 100) ** n for wi, gi in zip(w, g)), n)

            values = [w.value for w in weights] + [r.value for r in part_rates]
            roundings = [w.rounding for w in weights] + [r.rounding for r in part_rates]
            lo, hi = spread(implied, values, roundings)
            mid = implied(values)
            if not (math.isfinite(mid) and math.isfinite(lo) and math.isfinite(hi)):
                continue  # weights or rates outside the arithmetic's domain: nothing to judge
            mean = sum(w.value * r.value for w, r in zip(weights, part_rates)) / sum(
                w.value for w in weights)
            ok = lo - total_rate.rounding <= total_rate.value <= hi + total_rate.rounding
            gap = 0.0 if ok else abs(mid - total_rate.value)
            terms = " + ".join(f"{num(w.value)} × {num(1 + r.value / 100, 4)}^{n}"
                               for w, r in zip(weights, part_rates))
            arith = (f"weights {start}: ({terms}) / {num(sum(w.value for w in weights))} → "
                     f"{num(mid, 3)} %/yr (share-weighted mean of the rates {num(mean, 3)}) "
                     f"against the stated {num(total_rate.value)} %/yr")
            items = [rate_item(total_rate), *(rate_item(r) for r in part_rates),
                     *(figure_item(w) for w in weights)]
            out.append(_finding("sector_growth", ok, items, arith, gap, "%/yr",
                                f"growth of {', '.join(s.parts)} weighted by their {start} "
                                f"shares against the growth of {s.total} "
                                f"({total_rate.prices} prices, {start}-{total_rate.end})",
                                f"各部分{start}-{total_rate.end}年均增速按{start}年比重加权"
                                f"所得的总增速与{s.total}所述年均增速",
                                {"computed": mid, "share_weighted_mean": mean,
                                 "stated": total_rate.value}))
    return out


def check(plan: Plan) -> list[Finding]:
    return _sums(plan) + _products(plan) + _stated_rates(plan) + _weighted_growth(plan)
