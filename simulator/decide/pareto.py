"""Many-objective lever search: a Pareto set of settings over the goal groups' probabilities.

Each objective is a group's satisficing share: the share of counted futures in which every
goal of the group holds (economy, income, population, energy, green).  pymoo's NSGA-III
(reference directions spread over the groups) searches the levers within their bounds,
seeded, starting from the scenario's own setting and a Latin hypercube, and stops when the
objectives stop improving (pymoo's default multi-objective termination, at most
``generations``).  Every setting the search evaluated stays in the evaluator's cache; the
Pareto set is the non-dominated part of all of them, at most ``MAX_SETTINGS`` spread over
the front.  Robustness of each setting: satisficing (its worst group's share) and regret
(the largest shortfall, over groups, from the best setting of the set for that group).
"""

from __future__ import annotations

import numpy as np
from pymoo.algorithms.moo.nsga3 import NSGA3
from pymoo.core.problem import Problem
from pymoo.optimize import minimize
from pymoo.termination.default import DefaultMultiObjectiveTermination
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from pymoo.util.ref_dirs import get_reference_directions
from scipy.stats import qmc

GENERATIONS = 16
POPULATION = 36
MAX_SETTINGS = 30


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

    def full(self, x: np.ndarray) -> np.ndarray:
        settings = np.repeat(self.evaluator.plan[None, :], len(x), axis=0)
        settings[:, self.free] = x
        return settings

    def _evaluate(self, x, out, *args, **kwargs):
        evaluation = self.evaluator.evaluate(self.full(x))
        out["F"] = -group_probabilities(evaluation, self.masks)


def _directions(n_obj: int, population: int) -> np.ndarray:
    partitions = 1
    while len(get_reference_directions("das-dennis", n_obj, n_partitions=partitions + 1)) \
            <= population:
        partitions += 1
    return get_reference_directions("das-dennis", n_obj, n_partitions=partitions)


def search(evaluator, masks: dict[str, np.ndarray], seed: int,
           generations: int = GENERATIONS, population: int = POPULATION) -> None:
    """Run NSGA-III over the free levers; the settings it evaluates stay in the cache."""
    free = evaluator.bounds[:, 1] > evaluator.bounds[:, 0]
    if not free.any() or generations < 1:
        evaluator.evaluate(evaluator.plan[None, :])
        return
    problem = _Levers(evaluator, masks, free)
    lo, hi = problem.xl, problem.xu
    start = lo + qmc.LatinHypercube(d=int(free.sum()), seed=seed).random(population) * (hi - lo)
    start[0] = evaluator.plan[free]
    algorithm = NSGA3(ref_dirs=_directions(len(masks), population), pop_size=population,
                      sampling=start, eliminate_duplicates=True)
    termination = DefaultMultiObjectiveTermination(ftol=0.0025, period=5,
                                                   n_max_gen=generations)
    minimize(problem, algorithm, termination, seed=seed, verbose=False)


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
