"""Many-objective lever search: a Pareto set of settings over the goal groups' probabilities.

Each objective is a group's satisficing share: the share of counted futures in which every
goal of the group holds (economy, income, population, energy, green).  pymoo's NSGA-III
(reference directions spread over the groups) searches the levers within their bounds,
seeded, starting from the scenario's own setting and a Latin hypercube, and stops when the
Pareto set stops improving (:class:`FrontStable`: the hypervolume of every setting evaluated
grew by at most ``STABLE_TOL`` of itself over ``STABLE_PERIOD`` generations; at most
``generations``).  Every setting the search evaluated stays in the evaluator's cache; the
Pareto set is the non-dominated part of all of them, at most ``MAX_SETTINGS`` spread over
the front.  Robustness of each setting: satisficing (its worst group's share) and regret
(the largest shortfall, over groups, from the best setting of the set for that group).
"""

from __future__ import annotations

import numpy as np
from pymoo.algorithms.moo.nsga3 import NSGA3
from pymoo.core.problem import Problem
from pymoo.core.termination import Termination
from pymoo.indicators.hv import Hypervolume
from pymoo.optimize import minimize
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from pymoo.util.ref_dirs import get_reference_directions
from scipy.stats import qmc

GENERATIONS = 16
POPULATION = 36
MAX_SETTINGS = 30
STABLE_TOL = 0.005  # the Pareto set's hypervolume grew by 0.5% or less: it stopped improving
STABLE_PERIOD = 3  # ... over this many generations


def group_masks(goals: list[str], groups: dict[str, tuple[str, ...]]) -> dict[str, np.ndarray]:
    """Boolean goal masks of each group (groups without a selected goal dropped)."""
    masks = {name: np.isin(goals, members) for name, members in groups.items()}
    return {name: m for name, m in masks.items() if m.any()}


def group_probabilities(evaluation, masks: dict[str, np.ndarray]) -> np.ndarray:
    """(K, groups): share of counted futures meeting every goal of each group."""
    return np.stack([evaluation.probability(m) for m in masks.values()], axis=1)


class _Levers(Problem):
    def __init__(self, evaluator, masks, free: np.ndarray):
        self.evaluator, self.masks, self.free = evaluator, masks, free
        bounds = evaluator.bounds[free]
        super().__init__(n_var=int(free.sum()), n_obj=len(masks), xl=bounds[:, 0],
                         xu=bounds[:, 1])
        self.seen = np.empty((0, len(masks)))  # -shares of every setting evaluated

    def full(self, x: np.ndarray) -> np.ndarray:
        settings = np.repeat(self.evaluator.plan[None, :], len(x), axis=0)
        settings[:, self.free] = x
        return settings

    def _evaluate(self, x, out, *args, **kwargs):
        evaluation = self.evaluator.evaluate(self.full(x))
        out["F"] = -group_probabilities(evaluation, self.masks)
        self.seen = np.vstack([self.seen, out["F"]])


class FrontStable(Termination):
    """Stop after ``max_gen`` generations, or once the Pareto set has stopped improving:
    the hypervolume of every setting evaluated (groups' shares, from 0) has grown by at
    most ``tol`` of itself over the last ``period`` generations."""

    def __init__(self, max_gen: int, tol: float = STABLE_TOL, period: int = STABLE_PERIOD):
        super().__init__()
        self.max_gen, self.tol, self.period = max_gen, tol, period
        self.volumes: list[float] = []
        self.stable = False

    def _update(self, algorithm) -> float:
        seen = algorithm.problem.seen  # (pymoo runs a copy of this termination)
        if not len(seen):
            return 0.0
        self.volumes.append(float(Hypervolume(ref_point=np.zeros(seen.shape[1])).do(seen)))
        if len(self.volumes) > self.period:
            now, before = self.volumes[-1], self.volumes[-1 - self.period]
            self.stable = now > 0 and now - before <= self.tol * now
        return 1.0 if self.stable else min(1.0, algorithm.n_gen / self.max_gen)


def _directions(n_obj: int, population: int) -> np.ndarray:
    partitions = 1
    while len(get_reference_directions("das-dennis", n_obj, n_partitions=partitions + 1)) \
            <= population:
        partitions += 1
    return get_reference_directions("das-dennis", n_obj, n_partitions=partitions)


def search(evaluator, masks: dict[str, np.ndarray], seed: int,
           generations: int = GENERATIONS, population: int = POPULATION) -> dict:
    """Run NSGA-III over the free levers; the settings it evaluates stay in the cache.
    Returns the generations run and whether the front stopped improving before the cap."""
    free = evaluator.bounds[:, 1] > evaluator.bounds[:, 0]
    if not free.any() or generations < 1:
        evaluator.evaluate(evaluator.plan[None, :])
        return {"generations_run": 0, "front_stable": False}
    problem = _Levers(evaluator, masks, free)
    lo, hi = problem.xl, problem.xu
    start = lo + qmc.LatinHypercube(d=int(free.sum()), seed=seed).random(population) * (hi - lo)
    start[0] = evaluator.plan[free]
    algorithm = NSGA3(ref_dirs=_directions(len(masks), population), pop_size=population,
                      sampling=start, eliminate_duplicates=True)
    result = minimize(problem, algorithm, FrontStable(generations), seed=seed, verbose=False)
    return {"generations_run": int(result.algorithm.n_gen) - 1,  # pymoo's next generation
            "front_stable": bool(result.algorithm.termination.stable)}


def pareto_set(evaluator, masks: dict[str, np.ndarray],
               max_settings: int = MAX_SETTINGS) -> list[dict]:
    """The non-dominated settings of everything evaluated, with satisficing and regret."""
    settings = evaluator.archive()
    evaluation = evaluator.evaluate(settings)
    probs = group_probabilities(evaluation, masks)
    joint = evaluation.probability()
    front = NonDominatedSorting().do(-probs, only_non_dominated_front=True)
    front = np.unique(front)
    # one setting per distinct outcome (many settings reach the same shares)
    _, first = np.unique(probs[front], axis=0, return_index=True)
    front = front[np.sort(first)]
    front = front[_spread(probs[front], max_settings)]
    best = probs[front].max(axis=0)
    names = list(masks)
    out = []
    for i in front:
        out.append({"lever_values": evaluator.as_dict(settings[i]),
                    "group_probability": {g: float(p) for g, p in zip(names, probs[i])},
                    "joint": float(joint[i]),
                    "satisficing_worst": float(probs[i].min()),
                    "worst_group": names[int(np.argmin(probs[i]))],
                    "regret_max": float((best - probs[i]).max()),
                    "futures": int(evaluation.ok[i].sum())})
    out.sort(key=lambda s: (-s["satisficing_worst"], -s["joint"], s["regret_max"]))
    return out


def _spread(points: np.ndarray, k: int) -> np.ndarray:
    """Indices of at most k points spread over the front: farthest-point selection from
    the point with the best worst group."""
    if len(points) <= k:
        return np.arange(len(points))
    chosen = [int(np.argmax(points.min(axis=1)))]
    dist = np.linalg.norm(points - points[chosen[0]], axis=1)
    while len(chosen) < k:
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(points - points[nxt], axis=1))
    return np.array(sorted(chosen))
