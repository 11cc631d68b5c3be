"""Probabilities over futures: per goal and joint, binding goals and pairwise conflicts.

All probabilities count plausible runs only (runs consistent with the history);
intervals are 95% Wilson score intervals. With no run to count, a probability is
``None`` (never NaN: summaries are strict JSON). Two goals conflict when they hold
together less often than if they were independent, P(A and B) < P(A)P(B), and
a one-sided Fisher exact test puts that below p = 0.01 (sampling noise is not
reported as a conflict).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))
CONFLICT_P_VALUE = 0.01  # one-sided Fisher exact test of negative association


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, float(centre - half))
    hi = 1.0 if successes == n else min(1.0, float(centre + half))
    return (lo, hi)


def _prob(flags: np.ndarray) -> dict:
    n, k = int(flags.size), int(flags.sum())
    lo, hi = wilson(k, n)
    return {"probability": k / n if n else None, "interval": [lo, hi], "count": k}


def summarize(evaluation: xr.Dataset, plausible: xr.DataArray | None = None) -> dict:
    """Probabilities, binding goals and conflicts of an evaluated ensemble.

    ``evaluation`` is the output of :func:`simulator.inputs.goals.evaluate` (``met``
    ``(run, goal)``, ``joint`` ``(run,)``; ``projection_met`` ``(run, projection)`` when the
    goals file has projections, counted beside the goals and never in the joint
    probability); ``plausible`` masks runs to count.
    """
    met = evaluation["met"].values.astype(bool)
    goals = [str(g) for g in evaluation["goal"].values]
    mask = (np.ones(met.shape[0], bool) if plausible is None
            else np.asarray(plausible.values, dtype=bool))
    met = met[mask]
    n = int(met.shape[0])
    joint = met.all(axis=1)
    per_goal = {g: _prob(met[:, i]) for i, g in enumerate(goals)}
    if "met_other_reading" in evaluation:  # a goal's other reading, beside its own
        other = evaluation["met_other_reading"]
        readings = dict(r.split("=", 1) for r in
                        str(other.attrs.get("readings", "")).split(";") if r)
        thresholds = dict(r.split("=", 1) for r in
                          str(other.attrs.get("thresholds", "")).split(";") if r)
        flags = other.values.astype(bool)[mask]
        for i, g in enumerate(goals):
            if g in readings:
                per_goal[g]["other_reading"] = {
                    "indicator": readings[g], **_prob(flags[:, i]),
                    **({"threshold": float(thresholds[g])} if g in thresholds else {})}
    projections = {}
    if "projection_met" in evaluation:  # the plan's projections: never part of joint
        flags = evaluation["projection_met"].values.astype(bool)[mask]
        projections = {str(p): _prob(flags[:, i])
                       for i, p in enumerate(evaluation["projection"].values)}
    # binding: the goal is the only one missed
    others_hold = [np.delete(met, i, axis=1).all(axis=1) for i in range(len(goals))]
    binding = []
    for i, g in enumerate(goals):
        only_missed = int((~met[:, i] & others_hold[i]).sum())
        if only_missed:
            binding.append({"goal": g, "runs_only_missed": only_missed,
                            "share": only_missed / n,
                            "joint_if_relaxed": _prob(others_hold[i])["probability"]})
    binding.sort(key=lambda b: (-b["runs_only_missed"], b["goal"]))
    conflicts = []
    p = met.mean(axis=0) if n else np.zeros(len(goals))
    for i in range(len(goals)):
        for j in range(i + 1, len(goals)):
            if not (n and 0 < p[i] < 1 and 0 < p[j] < 1):
                continue
            a, b = met[:, i], met[:, j]
            table = [[int((a & b).sum()), int((a & ~b).sum())],
                     [int((~a & b).sum()), int((~a & ~b).sum())]]
            both, indep = table[0][0] / n, float(p[i] * p[j])
            if both >= indep:
                continue
            p_value = float(stats.fisher_exact(table, alternative="less").pvalue)
            if p_value < CONFLICT_P_VALUE:
                conflicts.append({"goals": [goals[i], goals[j]], "p_both": both,
                                  "p_independent": indep, "ratio": both / indep,
                                  "p_value": p_value})
    conflicts.sort(key=lambda c: (c["ratio"], c["goals"]))
    return {"runs_counted": n, "joint_probability": _prob(joint), "goals": per_goal,
            "binding_goals": binding, "conflicts": conflicts,
            "held_back_by": held_back_by(met, goals),
            "mean_goals_met": float(met.sum(axis=1).mean()) if n else None,
            **({"projections": projections} if projections else {})}


def held_back_by(met: np.ndarray, goals: list[str], stop_at: float = 0.95,
                 max_steps: int | None = None) -> list[dict]:
    """Goals in the order that, dropped one at a time, most raise the joint probability.

    Greedy: at each step drop the goal whose removal gives the highest joint
    probability of those left (ties: the less likely goal first); stop once the rest
    hold together in ``stop_at`` of the futures. Answers "held back by which goals"
    when several goals fail at once and none is binding on its own.
    """
    left = list(range(len(goals)))
    steps: list[dict] = []
    if met.shape[0] == 0:
        return steps
    alone = met.mean(axis=0)
    while left and met[:, left].all(axis=1).mean() < stop_at and (
            max_steps is None or len(steps) < max_steps):
        best = max(left, key=lambda i: (
            met[:, [j for j in left if j != i]].all(axis=1).mean() if len(left) > 1 else 1.0,
            -alone[i]))
        left.remove(best)
        rest = met[:, left].all(axis=1) if left else np.ones(met.shape[0], bool)
        steps.append({"goal": goals[best], "probability_alone": float(alone[best]),
                      "joint_without": _prob(rest)})
    return steps
