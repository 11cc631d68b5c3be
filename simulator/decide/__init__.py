"""Deciding: are the goals reachable together, under which levers (:mod:`.reach`), and
from "no" to what would make the plan reachable.

:func:`frontier` answers, for a scenario's goals at probability ``target`` (default 50%):
the largest goal sets holding together (scenario's and searched levers), the threshold
each blocking goal would need (:mod:`.goal_frontier`), a Pareto set of lever settings over the
goal groups' probabilities with satisficing and regret (:mod:`.pareto`, pymoo NSGA-III),
the robust setting and the PRIM box of futures where it fails (:mod:`.robust`), and the
single nearest reachable plan (:mod:`.search`).  Lever settings are evaluated by
:class:`.evaluate.Evaluator`: 2000-2005 once per future, every setting branched from the
2005 state, cached, on both cores.  The returned dict is ``frontier.json`` and the
``frontier`` key of ``summary.json`` (the brief's section "path-to-yes" reads it).
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from .. import sample
from ..inputs import model
from ..inputs.scenario import Scenario
from ..running import results
from . import pareto
from .evaluate import Evaluator, default_workers, shared_workers
from .search import build

DEFAULT_RUNS = 10_000
SEARCH_RUNS = 300  # plausible futures the searches run on (all figures: on every future)
DEFAULT_TARGET = 0.5
MAX_GROUPS_SEARCHED = 16  # groups of the goals file tried for a split (2^16 subsets)
FILE = "frontier.json"

__all__ = [
    "DEFAULT_TARGET",
    "FILE",
    "SEARCH_RUNS",
    "Evaluator",
    "decision_groups",
    "existing",
    "frontier",
    "recorded_inputs",
    "search_futures",
]


def decision_groups(goal_set) -> dict[str, tuple[str, ...]]:
    """The goals file's groups that split the selected goals into the most parts (each goal
    in exactly one; Karamay: economy, income, population, energy, green); without such a
    split, every goal is a group of its own."""
    ids = set(goal_set.ids)
    groups = [(name, tuple(g for g in members if g in ids))
              for name, members in goal_set.groups.items()]
    groups = [(name, members) for name, members in groups if members][:MAX_GROUPS_SEARCHED]
    best: list = []
    for size in range(len(groups), 0, -1):
        for chosen in itertools.combinations(groups, size):
            covered = [g for _, members in chosen for g in members]
            if len(covered) == len(set(covered)) and set(covered) == ids:
                best = list(chosen)
                break
        if best:
            break
    if not best:
        best = [(gid, (gid,)) for gid in goal_set.ids]
    return dict(best)


def recorded_inputs(scenario: Scenario, runs: int, seed: int, target: float,
                    search_runs: int, generations: int, calibration: str) -> dict:
    """What a frontier records of its inputs: equal records, equal results."""
    return {**results.provenance(scenario, seed), "runs": int(runs), "target": float(target),
            "search_runs": int(search_runs), "generations": int(generations),
            "calibration_requested": calibration}


def existing(directory, scenario: Scenario, runs: int, seed: int,
             calibration: str) -> dict | None:
    """``directory``/frontier.json if it is a frontier (at the default target) of these
    inputs (``plansim reach`` copies it into summary.json), else None."""
    from pathlib import Path

    from ..running import seal
    from . import stored

    path = Path(directory) / FILE
    if not os.path.lexists(path):
        return None
    found = stored.check_frontier(seal.read_json(path, "plansim frontier"), path)
    expected = {**results.provenance(scenario, seed), "runs": int(runs),
                "target": DEFAULT_TARGET, "calibration_requested": calibration}
    inputs = found.get("inputs")
    if not isinstance(inputs, dict) or not results.same_inputs(inputs, expected):
        return None
    return found


def search_futures(evaluator: Evaluator, search_runs: int = SEARCH_RUNS) -> Evaluator:
    """An evaluator over the first ``search_runs`` plausible futures of ``evaluator``'s
    (under the scenario's levers; the first futures if none is plausible)."""
    plan = evaluator.evaluate(evaluator.plan)
    counted = np.flatnonzero(plan.ok[0])[:search_runs]
    if counted.size == 0:
        counted = np.arange(min(search_runs, evaluator.n))
    return evaluator.subset(counted)


def frontier(scenario: Scenario, target: float = DEFAULT_TARGET, runs: int = DEFAULT_RUNS,
             seed: int = 0, search_runs: int = SEARCH_RUNS,
             generations: int = pareto.GENERATIONS, population: int = pareto.POPULATION,
             workers: int | None = None, calibration: str = "ensemble",
             evaluator: Evaluator | None = None, search: Evaluator | None = None,
             quick: bool = False) -> dict:
    """The frontier of ``scenario``'s goals (see the package docstring); reproducible with
    ``seed`` whatever ``workers``.  ``evaluator`` / ``search``: the scenario's futures and
    the search's already set up (``plansim reach`` passes its own, so its evaluations are
    reused); ``quick``: every figure on the search futures only (reach's quick answer)."""
    workers = default_workers() if workers is None else workers
    if evaluator is None:
        samples = sample.futures(scenario, runs, seed, calibration)
        evaluator = Evaluator(scenario, samples, workers=workers)
    search = search_futures(evaluator, search_runs) if search is None else search
    full = search if quick else evaluator
    goal_set = scenario.goal_set()
    inputs = {k: np.asarray(full.samples[k].values, dtype=float) for k in scenario.uncertainties
              if k in full.samples}
    units = {k: p.units for k, p in model.parameters(scenario.project).items()}
    with shared_workers([evaluator, search], workers):  # forked once for every search
        out = build(search, full, goal_set, decision_groups(goal_set), target, seed, inputs,
                    units, scenario.project, generations, population, failure_box=not quick)
    out["inputs"] = recorded_inputs(scenario, evaluator.n, seed, target, search_runs,
                                    generations, calibration)
    out["quick"] = bool(quick)
    return out
