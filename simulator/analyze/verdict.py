"""The leader's verdict: one answer, in counts before percentages, in Chinese or English.

Built from what ``plansim reach`` writes to ``summary.json`` (and, for the stability of
the ranking, the goals met in each plausible future), so the terminal (``plansim reach
--lang``), the brief, ``plansim analyze`` and the notebooks print the same sentences for
the same result:

- the answer: how many of the futures counted meet every goal (``not one of 2,706``);
- what holds it back: the goals whose dropping most raises the joint probability, with
  their thresholds and how often each is met, ranked only as far as the ranking holds in
  :data:`AGREE` of :data:`BOOTSTRAP` bootstrap resamples of the futures;
- what would make it reachable: the frontier's nearest reachable plan (``plansim
  frontier``, ``summary.json["frontier"]``) or, without one, reach's own drop-one-goal
  steps and best levers, and the command that gives the frontier;
- what the futures are and why some are not counted (from summary.json's fields).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..present import labels
from .reachability import held_back_by

BOOTSTRAP = 200
NEAREST_MOVES_SHOWN = 3  # thresholds of the nearest plan named in the verdict
AGREE = 0.95  # a rank is stable when this share of resamples puts the same goals first
DEPTH = 3  # goals named as holding the rest back


def ranking_stability(met: np.ndarray, goals: list[str], depth: int = DEPTH,
                      n_boot: int = BOOTSTRAP, seed: int = 0) -> int:
    """How many of the first ``depth`` held-back goals keep their rank in :data:`AGREE` of
    ``n_boot`` bootstrap resamples of the futures (rows of ``met``)."""
    point = [s["goal"] for s in held_back_by(met, goals, max_steps=depth)]
    if not point or met.shape[0] == 0:
        return 0
    rng = np.random.default_rng(seed)
    agree = np.zeros(len(point), int)
    for _ in range(n_boot):
        rows = rng.integers(0, met.shape[0], met.shape[0])
        again = [s["goal"] for s in held_back_by(met[rows], goals, max_steps=len(point))]
        k = 0
        while k < len(point) and k < len(again) and again[k] == point[k]:
            k += 1
        agree[:k] += 1
    stable = agree >= AGREE * n_boot
    return int(np.argmin(stable)) if not stable.all() else len(point)


@dataclass
class Verdict:
    """The sentences of the verdict and the rows behind them."""

    lang: str
    answer: str
    held_back: str
    path: list[str]
    futures: str
    source: str = ""
    rows: list[dict] = field(default_factory=list)  # held-back goals, for tables
    stable_to: int = 0
    relaxed: list[dict] = field(default_factory=list)  # frontier rows, for tables
    expectations: list[str] = field(default_factory=list)  # the plan's projections
    readings: list[str] = field(default_factory=list)  # goals read the other way

    def sentences(self) -> list[str]:
        return [s for s in (self.answer, self.held_back, *self.path, *self.expectations,
                            *self.readings, self.futures, self.source) if s]

    def text(self) -> str:
        return "\n".join(self.sentences())


def _count_of(p: dict, n: int) -> int:
    return 0 if p.get("value") is None else round(p["value"] * n)


def _share(k: int, n: int, lang: str) -> str:
    """``2,706个中有168个（6.2%）`` / ``168 of 2,706 (6.2%)``."""
    pct = labels.percent(k / n if n else None, lang)
    return labels.text("v_share", lang, k=labels.count(k), n=labels.count(n), p=pct)


def _ci(interval, lang: str) -> str:
    lo, hi = interval
    return labels.text("v_ci", lang, lo=labels.percent(lo, lang), hi=labels.percent(hi, lang))


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else "; ").join(items)


def _years(scen) -> tuple[int, int]:
    """The first and last year of the project's history (the years a future must match)."""
    years = scen.project.history_settings.years
    return (min(years), max(years)) if years else ("", "")


def _futures(scen, summary: dict, lang: str) -> str:
    t = lambda key, **kw: labels.text(key, lang, **kw)
    y0, y1 = _years(scen)
    sampled, n = summary.get("runs", 0), summary.get("plausible_runs", 0)
    cal = summary.get("calibration", {}) or {}
    sets = cal.get("sets_drawn") or cal.get("calibration_sets")
    ess = cal.get("ess") or cal.get("effective_sets")
    if isinstance(ess, dict):
        ess = ess.get("documented")
    parts = [t("v_futures_sampled", runs=labels.count(sampled),
               u=labels.count(len(scen.uncertainties)))]
    if sets:
        parts.append(t("v_futures_sets", sets=labels.count(sets)) + (
            t("v_futures_ess", ess=labels.count(round(ess))) if ess else ""))
    dropped = sampled - n
    outside = summary.get("outside_domain_runs", 0)
    if dropped:
        parts.append(t("v_futures_not_counted", n=labels.count(n), y0=y0, y1=y1,
                       x=labels.count(dropped - outside))
                     + (t("v_futures_outside", x=labels.count(outside)) if outside else ""))
    else:
        parts.append(t("v_futures_all_counted", n=labels.count(n), y0=y0, y1=y1))
    end = "。" if lang == "zh" else "."
    assumed = summary.get("implementation") or {}
    if assumed:  # levers the plan gives no size for, drawn with the futures (issue 16)
        ranges = [t("v_assumed_range", lever=labels.parameter(k, lang),
                    low=labels.number(r["low"]), high=labels.number(r["high"]))
                  for k, r in sorted(assumed.items())]
        parts.append(end + ("" if lang == "zh" else " ") + t("v_assumed", ranges=_join(ranges, lang)))
    return "".join(parts) + end


def _held_back(goal_set, summary: dict, n: int, stable_to: int, lang: str
               ) -> tuple[str, list[dict]]:
    steps = summary.get("held_back_by", [])[:DEPTH]
    rows = []
    for s in steps:
        p_alone = s["probability_alone"]
        rows.append({"goal": s["goal"], "label": labels.goal_target_by_id(s["goal"], goal_set,
                                                                         lang),
                     "met": round(p_alone * n), "probability": p_alone,
                     "rest": s["joint_without"]})
    if not rows:
        return "", rows
    met = [labels.text("v_met", lang, k=labels.count(r["met"]), n=labels.count(n),
                       p=labels.percent(r["probability"], lang)) for r in rows]
    shown = [f"{r['label']}（{m}）" if lang == "zh" else f"{r['label']} ({m})"
             for r, m in zip(rows, met)]
    ranked, unranked = shown[:stable_to], shown[stable_to:]
    if stable_to >= len(rows):
        return labels.text("v_held_back_ranked", lang, goals=_join(ranked, lang),
                           b=BOOTSTRAP), rows
    text = labels.text("v_held_back_unranked", lang, goals=_join(shown, lang), b=BOOTSTRAP)
    if ranked:
        text = labels.text("v_held_back_partly", lang, first=_join(ranked, lang),
                           rest=_join(unranked, lang), k=stable_to, b=BOOTSTRAP)
    return text, rows


def _with_threshold(goal_set, goal_id: str, threshold: float, lang: str) -> str:
    g = dataclasses.replace(goal_set[goal_id], threshold=float(threshold))
    return labels.goal_target(g, lang)


def _relaxed_rows(frontier: dict, goal_set, lang: str) -> list[dict]:
    rows = []
    for r in frontier.get("relaxed", []):
        if r.get("goal") not in goal_set.ids:
            continue
        rows.append({"goal": r["goal"],
                     "original": labels.goal_target_by_id(r["goal"], goal_set, lang),
                     "relaxed": _with_threshold(goal_set, r["goal"], r["threshold"], lang)
                     if r.get("reachable") else labels.text("v_not_reachable", lang),
                     "probability": r.get("probability"), "ci": r.get("ci", [0.0, 1.0])})
    return rows


def _moves(rows: list[dict], goal_set, lang: str) -> list[str]:
    """The first :data:`NEAREST_MOVES_SHOWN` threshold moves as sentences, then how many more;
    a move too small to show at the goal's precision is counted, not shown as 'x to x'."""
    said = []
    for r in rows:
        goal = goal_set[r["goal"]]
        moved = labels.goal_threshold(dataclasses.replace(goal, threshold=float(r["threshold"])),
                                      lang)
        if moved != labels.goal_threshold(goal, lang):
            said.append(labels.text("v_relax_one", lang,
                                    goal=labels.goal_target_by_id(r["goal"], goal_set, lang),
                                    to=moved))
    shown = said[:NEAREST_MOVES_SHOWN]
    if len(rows) > len(shown):
        shown.append(labels.text("v_more_moves", lang, n=len(rows) - len(shown)))
    return shown


def _path_from_frontier(frontier: dict, goal_set, lang: str) -> list[str]:
    t = lambda key, **kw: labels.text(key, lang, **kw)
    near = frontier.get("nearest") or {}
    p, ci = near.get("probability"), near.get("ci", [0.0, 1.0])
    target = labels.percent(frontier.get("target"), lang, 0)
    goals = [g for g in near.get("goals", []) if g in goal_set.ids]
    if near.get("kind") == "threshold":
        by_goal = {r["goal"]: r for r in frontier.get("relaxed", [])}
        what = _join(_moves([by_goal[g] for g in goals if g in by_goal], goal_set, lang), lang)
    elif near.get("kind") == "drop_goals":
        what = t("v_drop", goals=_join([labels.goal_target_by_id(g, goal_set, lang)
                                        for g in goals], lang))
        moves = [r for r in near.get("relaxed", []) if r.get("goal") in goal_set.ids]
        if moves:  # the goals kept may hold only at moved thresholds: say which
            shown = _moves(moves, goal_set, lang)
            what = _join([what, *shown], lang)
    else:
        what = t("v_levers_change")
    if p is None:
        return [t("v_frontier_none", target=target)]
    return [t("v_nearest", what=what, p=labels.percent(p, lang), ci=_ci(ci, lang),
              target=target)]


def _path_from_reach(scen, summary: dict, n: int, lang: str) -> list[str]:
    t = lambda key, **kw: labels.text(key, lang, **kw)
    goal_set = scen.goal_set()
    steps = summary.get("held_back_by", [])
    lines = []
    first = next((i for i, s in enumerate(steps) if s["joint_without"]["count"] > 0), None)
    half = next((i for i, s in enumerate(steps) if (s["joint_without"]["probability"] or 0)
                 >= 0.5), None)
    for i in dict.fromkeys(x for x in (first, half) if x is not None):
        dropped = [labels.goal_by_id(s["goal"], goal_set, lang) for s in steps[:i + 1]]
        jw = steps[i]["joint_without"]
        named = t("v_goals_k", goals=_join(dropped, lang), k=len(dropped)) \
            if len(dropped) <= 4 else t(
            "v_and_more", goals=_join(dropped[:3], lang), k=len(dropped), m=len(dropped) - 3)
        lines.append(t("v_drop_steps", goals=named,
                       share=_share(jw["count"], n, lang)))
    best = summary.get("best_levers", {})
    bj = best.get("joint_probability")
    if bj and bj.get("value") is not None and best.get("values"):
        lines.append(t("v_best_levers", share=_share(_count_of(bj, n), n, lang),
                       ci=_ci(bj["interval"], lang)))
    lines.append(t("v_how_frontier", scenario=scen.name))
    return lines


def expectations(goal_set, summary: dict, n: int, lang: str) -> list[str]:
    """One sentence per projection of the plan (``summary["projections"]``): what the plan
    expects and in how many futures it comes true; never part of the verdict."""
    return [labels.text("v_expectation", lang,
                        target=labels.goal_target_by_id(p, goal_set, lang),
                        share=_share(v.get("count", _count_of(v, n)), n, lang))
            for p, v in summary.get("projections", {}).items() if v.get("value") is not None]


def other_readings(goal_set, summary: dict, n: int, lang: str) -> list[str]:
    """One sentence per goal with an ``other_reading`` (goals.toml): how often it holds read
    the other way (e.g. the income growth goal at 2005 prices, fiscal growth at 15%/yr)."""
    out = []
    per_goal = summary.get("goals", {})
    for g in goal_set.ids:  # in the goals file's order, whatever order summary.json keeps
        other = per_goal.get(g, {}).get("other_reading")
        if not other or other.get("value") is None:
            continue
        ind = other["indicator"]
        # the goal as read the other way: its other indicator and, where the other reading
        # is another figure of the same clause, that figure (goals.toml other_threshold)
        read = goal_set[g].other() or goal_set[g]
        out.append(labels.text(
            "v_other_reading", lang, indicator=labels.indicator(ind, lang),
            unit=labels.unit(ind, lang), goal=labels.goal_target(read, lang),
            met=labels.text("v_met", lang, k=labels.count(_count_of(other, n)),
                            n=labels.count(n), p=labels.percent(other["value"], lang))))
    return out


def leader(scen, summary: dict, lang: str = "en", met: np.ndarray | None = None,
           source: str = "") -> Verdict:
    """The verdict of a reach summary (``summary.json``) of scenario ``scen``.

    ``met``: goals met per plausible future (``(futures, goals)``, the order of
    ``summary["goals"]``) for the ranking's bootstrap; without it no rank is claimed.
    """
    labels.check_lang(lang)
    t = lambda key, **kw: labels.text(key, lang, **kw)
    goal_set = scen.goal_set()
    n = int(summary.get("plausible_runs", 0))
    k = len(summary.get("goals", {}))
    futures = _futures(scen, summary, lang)
    y0, y1 = _years(scen)
    if n == 0:
        return Verdict(lang, t("v_no_plausible", runs=labels.count(summary.get("runs", 0))),
                       "", [], futures, source)
    jp = summary["joint_probability"]
    count = _count_of(jp, n)
    pct = labels.percent(jp["value"], lang)
    if count == 0:
        answer = t("v_answer_none", n=labels.count(n), k=k, y0=y0, y1=y1, p=pct, ci=_ci(jp["interval"], lang))
    else:
        answer = t("v_answer_some", n=labels.count(n), k=k, y0=y0, y1=y1, c=labels.count(count), p=pct,
                   ci=_ci(jp["interval"], lang))
    goals = list(summary["goals"])
    stable_to = ranking_stability(met, goals) if met is not None and met.size else 0
    frontier = summary.get("frontier")
    stability = (frontier or {}).get("ranking_stability", {})
    if stability.get("stable_to") is not None and met is None:
        stable_to = int(stability["stable_to"])
    held, rows = _held_back(goal_set, summary, n, stable_to, lang)
    if frontier:
        path = _path_from_frontier(frontier, goal_set, lang)
        relaxed = _relaxed_rows(frontier, goal_set, lang)
    else:
        path, relaxed = _path_from_reach(scen, summary, n, lang), []
    return Verdict(lang, answer, held, path, futures, source, rows, stable_to, relaxed,
                   expectations(goal_set, summary, n, lang),
                   other_readings(goal_set, summary, n, lang))
