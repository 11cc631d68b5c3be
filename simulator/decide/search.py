"""The frontier object: maximal goal sets, relaxed thresholds, Pareto set, robust setting.

:func:`build` runs the searches on ``search`` (an evaluator over a subset of the futures)
and reports every figure on ``full`` (the same scenario over all futures), with 95%
Wilson intervals.  Both evaluators answer ``evaluate(settings) -> Evaluation`` and cache,
so the Pareto search's settings are reused by the maximal sets and the relaxed thresholds.
The dict's keys are the contract with the brief (/work/lead/CONTRACT-frontier.md).
"""

from __future__ import annotations

import math

import numpy as np

from ..analyze.reachability import wilson
from ..present import labels
from . import goal_frontier, pareto, robust

BOX_CUT = 0.1  # a failure-box limit is stated if it cuts 10% of the input's range or more


def _prob(flags: np.ndarray, ok: np.ndarray) -> dict:
    n, k = int(ok.sum()), int((flags & ok).sum())
    return {"probability": k / n if n else 0.0, "ci": list(wilson(k, n)), "count": k}


def _label(goal, lang: str, project) -> str:
    return labels.goal(goal, lang, project)


def _maximal(evaluation, j: int, goals: list[str], target: float, kind: str, levers: dict,
             limit: int) -> list[dict]:
    out = []
    for mask, _, _ in goal_frontier.maximal_sets(evaluation.met[j], evaluation.ok[j], target,
                                                 limit):
        p = _prob(evaluation.met[j][:, mask].all(axis=1), evaluation.ok[j])
        out.append({"goals": [g for g, m in zip(goals, mask) if m], "size": int(mask.sum()),
                    "levers": kind, "probability": p["probability"], "ci": p["ci"],
                    "lever_values": levers})
    return out


def _best_searched_set(archive, target: float) -> int:
    """Index (in the archive's evaluation) of the setting with the largest maximal set."""
    best, key = 0, (-1, -1.0)
    for j in range(len(archive.levers)):
        sets = goal_frontier.maximal_sets(archive.met[j], archive.ok[j], target, 1)
        if sets and (int(sets[0][0].sum()), sets[0][1]) > key:
            best, key = j, (int(sets[0][0].sum()), sets[0][1])
    return best


def _plan_move(plan_eval, rest: np.ndarray, g: int, target: float) -> float:
    return goal_frontier.relaxation(plan_eval.met[0], plan_eval.margin[0], plan_eval.ok[0],
                                    rest, g, target)


def _searched_pick(archive, rest: np.ndarray, g: int, target: float,
                   plan_move: float) -> int | None:
    """The searched setting (archive index) needing the smallest move of goal ``g`` on the
    search futures, if smaller than under the scenario's levers."""
    moves = [goal_frontier.relaxation(archive.met[j], archive.margin[j], archive.ok[j], rest,
                                      g, target) for j in range(len(archive.levers))]
    j = int(np.argmin(moves))
    return j if moves[j] < plan_move else None


def _relaxed(goal_set, full, archive, rest: np.ndarray, g: int, target: float,
             plan_eval, project, j: int | None) -> dict:
    """The relaxed threshold of goal ``g`` under the scenario's and under searched levers
    (``j``: :func:`_searched_pick`)."""
    goal = goal_set.goals[g]
    move = _plan_move(plan_eval, rest, g, target)
    setting, evaluation = full.plan, plan_eval
    if j is not None:
        candidate = full.evaluate(archive.levers[j])
        found = goal_frontier.relaxation(candidate.met[0], candidate.margin[0],
                                         candidate.ok[0], rest, g, target)
        if found < move:
            move, setting, evaluation = found, archive.levers[j], candidate
    reachable = math.isfinite(move) and move <= goal_frontier.MAX_RELAXATION
    entry = {"goal": goal.id, "label_en": _label(goal, "en", project),
             "label_zh": _label(goal, "zh", project), "reachable": bool(reachable)}
    if math.isfinite(move):
        entry.update(goal_frontier.relaxed_threshold(goal, move))
        holds = evaluation.met[0][:, rest].all(axis=1) & (evaluation.margin[0][:, g] >= -move)
    else:
        entry.update({"comparator": goal.comparator, "threshold": None,
                      "original": float(goal.threshold), "unit": goal.unit, "move": None})
        holds = evaluation.met[0][:, rest].all(axis=1) & evaluation.met[0][:, g]
    p = _prob(holds, evaluation.ok[0])
    entry.update({"probability": p["probability"], "ci": p["ci"],
                  "lever_values": full.as_dict(setting),
                  "levers": "scenario" if setting is full.plan else "searched"})
    return entry


def _nearest(goal_set, candidates: list[tuple], rest: np.ndarray, blocking: list[int],
             target: float, searched_joint: tuple | None, project) -> dict:
    """The single nearest reachable plan: every goal with other levers; else every goal
    with blocking thresholds moved (one after the other, smallest move first, each at most
    ``MAX_RELAXATION``) under the lever setting (``candidates``: (lever values or
    "scenario", evaluation)) dropping the fewest goals, then moving them least; a goal no
    allowed move brings in is dropped (kind "drop_goals", with the moves of the others)."""
    if searched_joint is not None:
        levers, p = searched_joint
        return {"kind": "levers", "goals": goal_set.ids, "probability": p["probability"],
                "ci": p["ci"], "lever_values": levers}
    best = None
    for levers, evaluation in candidates:
        dropped, total, moved, p = _thresholds_moved(goal_set, evaluation, rest, blocking,
                                                     target, project)
        if best is None or (len(dropped), total) < (len(best[0]), best[1]):
            best = (dropped, total, moved, p, levers)
    dropped, _, moved, p, levers = best
    return {"kind": "drop_goals" if dropped else "threshold",
            "goals": dropped if dropped else goal_set.ids,
            "kept": [g for g in goal_set.ids if g not in dropped], "relaxed": moved,
            "probability": p["probability"], "ci": p["ci"], "lever_values": levers}


def _thresholds_moved(goal_set, evaluation, rest, blocking, target, project):
    """(dropped goal ids, total move, moved goals, probability) under one evaluation."""
    met, margin, ok = evaluation.met[0], evaluation.margin[0], evaluation.ok[0]
    hold = met[:, rest].all(axis=1)
    moved, dropped, total = [], [], 0.0
    for g in sorted(blocking, key=lambda g: goal_frontier.relaxation(met, margin, ok, rest, g,
                                                                     target)):
        move = goal_frontier.move_for(hold, margin[:, g], ok, target)
        goal = goal_set.goals[g]
        if not math.isfinite(move) or move > goal_frontier.MAX_RELAXATION:
            dropped.append(goal.id)
            continue
        hold = hold & (margin[:, g] >= -move)
        total += move
        if move > 0:
            moved.append({"goal": goal.id, "label_en": _label(goal, "en", project),
                          "label_zh": _label(goal, "zh", project),
                          **goal_frontier.relaxed_threshold(goal, move)})
    return dropped, total, moved, _prob(hold, ok)


def build(search, full, goal_set, groups: dict[str, tuple[str, ...]], target: float,
          seed: int, inputs: dict[str, np.ndarray], units: dict[str, str], project=None,
          generations: int = pareto.GENERATIONS, population: int = pareto.POPULATION,
          failure_box: bool = True) -> dict:
    """The frontier of ``goal_set`` at probability ``target`` (see the module docstring).

    ``inputs``: the futures' uncertain inputs ``name -> (runs of full,)`` (uncertainties
    only: the failure box's dimensions); ``units``: units of the levers and uncertainties;
    ``failure_box``: False leaves the robust setting's PRIM box out (reach's quick answer).
    """
    goals = goal_set.ids
    plan_eval = full.evaluate(full.plan)
    ok = plan_eval.ok[0]
    plan_levers = full.as_dict(full.plan)
    out: dict = {"target": float(target), "futures": int(ok.sum()), "seed": int(seed),
                 "goals": goals}
    maximal = _maximal(plan_eval, 0, goals, target, "scenario", plan_levers, 5)

    masks = pareto.group_masks(goals, groups)
    ran = pareto.search(search, masks, seed, generations, population)
    front = pareto.pareto_set(search, masks)
    archive = search.evaluate(search.archive())  # every searched setting, evaluated once
    setting = archive.levers[_best_searched_set(archive, target)]
    rest = np.zeros(len(goals), dtype=bool)
    if maximal:
        rest = np.isin(goals, maximal[0]["goals"])
    blocking = [g for g in range(len(goals)) if not rest[g]]
    picks = {g: _searched_pick(archive, rest, g, target, _plan_move(plan_eval, rest, g, target))
             for g in blocking}
    # every searched setting the figures below read on all futures, in one call (larger
    # engine calls, one set of workers); each is then answered from the cache
    full.evaluate(np.array([setting, *(archive.levers[j] for j in picks.values() if j is not None),
                            _setting(full, robust.choose(front)),
                            *_joint_candidate(archive, target)]))
    searched = _maximal(full.evaluate(setting), 0, goals, target, "searched",
                        full.as_dict(setting), 1)
    out["maximal_sets"] = maximal + searched
    out["relaxed"] = [_relaxed(goal_set, full, archive, rest, g, target, plan_eval, project,
                               picks[g]) for g in blocking]
    ranked, stable = goal_frontier.ranking_stability(plan_eval.met[0], plan_eval.margin[0], ok,
                                                     rest, blocking, target, seed)
    out["ranking_stability"] = {"blocking_goals": [goals[g] for g in ranked],
                                "stable_to": int(stable), "bootstrap": goal_frontier.BOOTSTRAP,
                                "by": "threshold move needed, largest first"}
    out["pareto"] = front  # shares on the search futures (``search.futures``)
    out["robust"] = _robust(full, front, masks, inputs if failure_box else None, units)
    candidates = [("scenario", plan_eval)] + [
        (r["lever_values"], full.evaluate(np.array([r["lever_values"][k] for k in full.names])))
        for r in out["relaxed"] if r["levers"] == "searched"]
    out["nearest"] = _nearest(goal_set, candidates, rest, blocking, target,
                              _searched_joint(archive, full, target), project)
    out["groups"] = {name: [g for g, m in zip(goals, mask) if m] for name, mask in masks.items()}
    out["goal_labels"] = {g.id: {"en": _label(g, "en", project), "zh": _label(g, "zh", project)}
                          for g in goal_set.goals}
    out["search"] = {"futures": int(search.n), "settings_evaluated": int(search.evaluated),
                     "generations": int(generations), "population_size": int(population),
                     **ran,
                     "optimiser": "pymoo NSGA-III"}
    return out


def _setting(full, entry: dict) -> np.ndarray:
    """A Pareto entry's lever values as a setting of ``full``'s levers."""
    return np.array([entry["lever_values"][k] for k in full.names])


def _joint_candidate(archive, target: float) -> list[np.ndarray]:
    """The searched setting with the highest joint probability, if it reaches ``target``
    on the search futures (none else)."""
    joint = archive.probability()
    j = int(np.argmax(joint))
    return [archive.levers[j]] if joint[j] >= target else []


def _searched_joint(archive, full, target: float) -> tuple | None:
    """The searched setting with the highest joint probability, if it reaches ``target``
    on the search futures and again on all futures."""
    for setting in _joint_candidate(archive, target):
        evaluation = full.evaluate(setting)
        p = _prob(evaluation.met[0].all(axis=1), evaluation.ok[0])
        if p["probability"] >= target:
            return full.as_dict(setting), p
    return None


def _robust(full, front: list[dict], masks: dict[str, np.ndarray],
            inputs: dict[str, np.ndarray] | None, units: dict[str, str]) -> dict:
    """The robust setting on all futures and the PRIM box where its worst group fails."""
    setting = _setting(full, robust.choose(front))
    evaluation = full.evaluate(setting)
    shares = pareto.group_probabilities(evaluation, masks)[0]
    names = list(masks)
    worst = int(np.argmin(shares))
    p = _prob(evaluation.met[0][:, masks[names[worst]]].all(axis=1), evaluation.ok[0])
    box = (robust.failure_box(evaluation, inputs, full.names, masks[names[worst]])
           if inputs is not None else
           {"restrictions": {}, "coverage": None, "density": None,
            "note": "not searched in the quick answer: `plansim frontier` gives the box"})
    limits = [{"name": k, "label_en": labels.parameter(k, "en"),
               "label_zh": labels.parameter(k, "zh"), "low": v["low"], "high": v["high"],
               "range": v["range"], "unit": units.get(k, "")}
              for k, v in box["restrictions"].items() if _narrows(v)]
    return {"lever_values": full.as_dict(setting), "worst_group": names[worst],
            "satisficing_worst": p["probability"], "ci": p["ci"],
            "group_probability": {g: float(v) for g, v in zip(names, shares)},
            "joint": float(evaluation.probability()[0]),
            "failure_box": limits, "box_coverage": box["coverage"],
            "box_density": box["density"], "box_note": box.get("note", ""),
            "box_limits_not_stated": len(box["restrictions"]) - len(limits)}


def _narrows(limit: dict) -> bool:
    """A box limit worth stating: it cuts at least ``BOX_CUT`` of the input's range."""
    lo, hi = limit["range"]
    return hi > lo and (limit["high"] - limit["low"]) <= (1 - BOX_CUT) * (hi - lo)
