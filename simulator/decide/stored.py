"""A frontier read back from a file (``frontier.json``, or the ``frontier`` of a reach
``summary.json``): the shape its readers (the verdict, the brief) rely on, checked.

The file's digest (:mod:`simulator.running.seal`) says it is as written; this says it is
a frontier, so that a file crafted with a matching digest is one line, not a traceback
or a number outside its meaning (a probability of -5, a threshold of 1e300).
"""

from __future__ import annotations

import math

from ..errors import InputError

KINDS = ("threshold", "drop_goals", "levers")
MAX_MAGNITUDE = 1e15  # thresholds and moves: beyond any plan's figure


def _bad(path, key: str, what: str, command: str) -> InputError:
    return InputError(path, key, f"{what}: not a result plansim wrote",
                      f"rerun `{command}` to write it again")


def _number(value, path, key, command, probability=False, optional=False):
    if value is None and optional:
        return
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value) and abs(value) <= MAX_MAGNITUDE)
    if ok and probability:
        ok = 0.0 <= value <= 1.0
    if not ok:
        raise _bad(path, key, "a probability between 0 and 1 expected" if probability
                   else "a finite number expected", command)


def _ci(value, path, key, command):
    if not isinstance(value, list) or len(value) != 2:
        raise _bad(path, key, "an interval of two probabilities expected", command)
    for v in value:
        _number(v, path, key, command, probability=True)


def _rows(value, path, key, command, need_threshold: bool):
    if not isinstance(value, list):
        raise _bad(path, key, "a list expected", command)
    for i, row in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("goal"), str):
            raise _bad(path, where, "a row naming its goal expected", command)
        if need_threshold or row.get("reachable") or "threshold" in row:
            _number(row.get("threshold"), path, f"{where}.threshold", command,
                    optional=not (need_threshold or row.get("reachable")))
        for k in ("move", "original"):
            if k in row:
                _number(row[k], path, f"{where}.{k}", command, optional=True)
        if "reachable" in row and not isinstance(row["reachable"], bool):
            raise _bad(path, f"{where}.reachable", "true or false expected", command)
        if "probability" in row:
            _number(row["probability"], path, f"{where}.probability", command,
                    probability=True, optional=True)
        if "ci" in row:
            _ci(row["ci"], path, f"{where}.ci", command)


def check_frontier(obj, path, command: str = "plansim frontier") -> dict:
    """``obj`` if it has the shape of a frontier, else one line naming ``path`` and key."""
    if not isinstance(obj, dict):
        raise _bad(path, "frontier", "an object expected", command)
    _number(obj.get("target"), path, "target", command, probability=True)
    for key in ("seed", "futures"):
        if key in obj and (isinstance(obj[key], bool) or not isinstance(obj[key], int)
                           or obj[key] < 0):
            raise _bad(path, key, "a whole number expected", command)
    if "quick" in obj and not isinstance(obj["quick"], bool):
        raise _bad(path, "quick", "true or false expected", command)
    _rows(obj.get("relaxed", []), path, "relaxed", command, need_threshold=False)
    near = obj.get("nearest")
    if near is not None:
        if not isinstance(near, dict) or near.get("kind") not in KINDS:
            raise _bad(path, "nearest", f"an object of kind {', '.join(KINDS)} expected",
                       command)
        goals = near.get("goals", [])
        if not isinstance(goals, list) or not all(isinstance(g, str) for g in goals):
            raise _bad(path, "nearest.goals", "a list of goal ids expected", command)
        _number(near.get("probability"), path, "nearest.probability", command,
                probability=True, optional=True)
        if "ci" in near:
            _ci(near["ci"], path, "nearest.ci", command)
        _rows(near.get("relaxed", []), path, "nearest.relaxed", command, need_threshold=True)
    stability = obj.get("ranking_stability", {})
    if not isinstance(stability, dict) or not isinstance(stability.get("stable_to", 0), int):
        raise _bad(path, "ranking_stability", "an object with stable_to expected", command)
    labels = obj.get("goal_labels", {})
    if not isinstance(labels, dict) or not all(
            isinstance(v, dict) and all(isinstance(t, str) for t in v.values())
            for v in labels.values()):
        raise _bad(path, "goal_labels", "labels by goal and language expected", command)
    return obj


def _plain(x):
    import json

    return json.loads(json.dumps(x))


def _probability_entry(value, path, key, command):
    if not isinstance(value, dict):
        raise _bad(path, key, "a probability and its interval expected", command)
    _number(value.get("value"), path, f"{key}.value", command, probability=True, optional=True)
    _ci(value.get("interval"), path, f"{key}.interval", command)


def check_summary(summary, ds, path, command: str = "plansim reach") -> dict:
    """``summary`` (a reach ``summary.json``) if what it says of the futures is what the
    ``results.nc`` beside it (``ds``, already checked) gives, and the rest has the shape
    its readers rely on; else one line naming ``path`` and the key."""
    if not isinstance(summary, dict):
        raise _bad(path, "summary", "an object expected", command)
    found = ds.plan.summary()
    expected = {
        "runs": int(ds.sizes["run"]), "plausible_runs": found["runs_counted"],
        "joint_probability": {"value": found["joint_probability"]["probability"],
                              "interval": found["joint_probability"]["interval"]},
        "binding_goals": found["binding_goals"], "held_back_by": found["held_back_by"],
        "conflicts": found["conflicts"][:10],
        "goals": {g: {"value": v["probability"], "interval": v["interval"]}
                  for g, v in found["goals"].items()}}
    goals = summary.get("goals")
    if isinstance(goals, dict):
        for g, v in goals.items():
            if isinstance(v, dict) and "other_reading" in v:
                other = v["other_reading"]
                _probability_entry(other, path, f"goals.{g}.other_reading", command)
                if not isinstance(other.get("indicator"), str):
                    raise _bad(path, f"goals.{g}.other_reading", "an indicator expected",
                               command)
        goals = {g: {k: x for k, x in v.items() if k != "other_reading"}
                 if isinstance(v, dict) else v for g, v in goals.items()}
    for key, want in expected.items():
        have = goals if key == "goals" else summary.get(key)
        if _plain(have) != _plain(want):
            raise InputError(path, key, "does not match the results.nc beside it",
                             f"rerun `{command}` to write both again")
    levers = summary.get("levers", {})
    if not isinstance(levers, dict):
        raise _bad(path, "levers", "lever values expected", command)
    for k, v in levers.items():
        _number(v, path, f"levers.{k}", command)
    best = summary.get("best_levers")
    if best is not None:
        if not isinstance(best, dict) or not isinstance(best.get("values", {}), dict):
            raise _bad(path, "best_levers", "the best levers and their probabilities expected",
                       command)
        for k, v in best.get("values", {}).items():
            _number(v, path, f"best_levers.values.{k}", command)
        _probability_entry(best.get("joint_probability"), path, "best_levers.joint_probability",
                           command)
        best_goals = best.get("goals", {})
        if not isinstance(best_goals, dict):
            raise _bad(path, "best_levers.goals", "probabilities by goal expected", command)
        for g, v in best_goals.items():
            _probability_entry(v, path, f"best_levers.goals.{g}", command)
        if not isinstance(best.get("binding_goals", []), list):
            raise _bad(path, "best_levers.binding_goals", "a list expected", command)
    outside = summary.get("outside_domain_runs", 0)
    if isinstance(outside, bool) or not isinstance(outside, int) or not (
            0 <= outside <= expected["runs"]):
        raise _bad(path, "outside_domain_runs", "a count of the runs expected", command)
    cal = summary.get("calibration", {})
    if not isinstance(cal, dict):
        raise _bad(path, "calibration", "an object expected", command)
    for key in ("sets_drawn", "calibration_sets", "sets_available"):
        value = cal.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise _bad(path, f"calibration.{key}", "a count expected", command)
    for key in ("ess", "effective_sets"):
        value = cal.get(key)
        value = value.get("documented") if isinstance(value, dict) else value
        if value is not None:
            _number(value, path, f"calibration.{key}", command)
    if summary.get("frontier") is not None:
        check_frontier(summary["frontier"], path, command)
    return summary
