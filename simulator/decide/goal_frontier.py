"""The goal frontier: which goals hold together, and how far a blocking goal must move.

All on one evaluation (met flags and margins of the same futures: common random
numbers, so a threshold moved changes only which runs count as meeting it):

- :func:`maximal_sets`: sets of goals holding together with probability >= P to which
  no further goal can be added (greedy from every goal, then by the goal keeping the
  joint probability highest), largest first.
- :func:`relaxation`: the smallest move of a goal's threshold (as a share of the
  threshold: margins are normalised by it) with which the rest plus this goal reach P:
  the ``ceil(P n)``-th largest margin of the goal among the runs where the rest hold.
- :func:`relaxed_threshold`: that move in the goal's own units.
- :func:`ranking_stability`: the blocking goals ranked by the move they need, with a
  bootstrap over futures (:func:`moves_for`: every replicate at once); a ranking is
  reported only as far as it is stable.
"""

from __future__ import annotations

import math

import numpy as np

MAX_RELAXATION = 0.5  # a threshold moved by more than half its value is not a plan
STABLE_SHARE = 0.95  # a rank holds in this share of bootstrap replicates
BOOTSTRAP = 200


def _needed(n_counted: int, target: float) -> int:
    return max(1, math.ceil(target * n_counted - 1e-9))


def maximal_sets(met: np.ndarray, ok: np.ndarray, target: float,
                 limit: int = 5) -> list[tuple[np.ndarray, float, int]]:
    """Maximal goal sets (boolean masks) with P >= target, as (mask, probability, count).

    From every goal meeting the target alone, goals are added greedily (the one that
    keeps the most runs holding, the first on a tie) while the set still reaches it; all
    starting goals grow together (their counts are one matrix product a step).
    """
    met = met[ok]
    n, g = met.shape
    if n == 0:
        return []
    need = _needed(n, target)
    columns = met.astype(float)  # counts by matrix product: exact (integers below 2^53)
    hold = met.T.copy()  # (start, run)
    chosen = np.eye(g, dtype=bool)  # (start, goal)
    started = hold.sum(axis=1) >= need
    active = started.copy()
    while active.any():
        rows = np.flatnonzero(active)
        counts = hold[rows].astype(float) @ columns
        counts[chosen[rows]] = -1
        best = np.argmax(counts, axis=1)
        grows = counts[np.arange(len(rows)), best] >= need
        chosen[rows[grows], best[grows]] = True
        hold[rows[grows]] &= met[:, best[grows]].T
        active[rows[~grows]] = False
    found: dict[bytes, tuple[np.ndarray, float, int]] = {}
    for start in np.flatnonzero(started):
        count = int(hold[start].sum())
        found.setdefault(chosen[start].tobytes(), (chosen[start].copy(), count / n, count))
    ranked = sorted(found.values(), key=lambda s: (-s[0].sum(), -s[1], s[0].tobytes()))
    return ranked[:limit]


def relaxation(met: np.ndarray, margin: np.ndarray, ok: np.ndarray, rest: np.ndarray,
               goal: int, target: float, weights: np.ndarray | None = None) -> float:
    """The smallest normalised move of ``goal``'s threshold with which the goals of
    ``rest`` (mask) and ``goal`` hold together with P >= target (inf: not even at any
    move; 0: no move needed).  ``weights``: bootstrap counts per run."""
    return move_for(met[:, rest].all(axis=1), margin[:, goal], ok, target, weights)


def move_for(hold: np.ndarray, margin: np.ndarray, ok: np.ndarray, target: float,
             weights: np.ndarray | None = None) -> float:
    """The smallest normalised move of one goal's threshold (its ``margin`` per run) with
    which the runs of ``hold`` that meet it reach ``target`` of the counted runs."""
    w = np.ones(len(ok)) if weights is None else weights
    counted = ok & np.isfinite(margin)
    total = w[counted].sum()
    if total == 0:
        return math.inf
    holds = counted & hold
    m, wm = margin[holds], w[holds]
    order = np.argsort(-m, kind="stable")
    cum = np.cumsum(wm[order])
    need = target * total - 1e-9
    if not len(cum) or cum[-1] < need:
        return math.inf
    kth = m[order][int(np.searchsorted(cum, need))]
    return max(0.0, float(-kth))


def moves_for(hold: np.ndarray, margin: np.ndarray, ok: np.ndarray, target: float,
              weights: np.ndarray) -> np.ndarray:
    """:func:`move_for` under each row of ``weights`` (bootstrap counts, replicates x
    runs) at once: the runs sorted once, the weights summed row by row (whole numbers:
    the same sums in any order)."""
    counted = ok & np.isfinite(margin)
    total = weights[:, counted].sum(axis=1)
    holds = counted & hold
    m = margin[holds]
    order = np.argsort(-m, kind="stable")
    cum = np.cumsum(weights[:, holds][:, order], axis=1)
    need = target * total - 1e-9
    out = np.full(len(weights), math.inf)
    if not len(m):
        return out
    kth = (cum < need[:, None]).sum(axis=1)  # the first run where the sum reaches need
    reached = (total > 0) & (cum[:, -1] >= need)
    out[reached] = np.maximum(0.0, -m[order][kth[reached]])
    return out


def relaxed_threshold(goal, move: float) -> dict:
    """A goal's threshold (or tolerance, for an 'approx' goal) moved by ``move`` x |threshold|."""
    step = move * abs(goal.threshold)
    out = {"comparator": goal.comparator, "original": float(goal.threshold),
           "unit": goal.unit}
    if goal.comparator in (">=", ">"):
        out["threshold"] = float(goal.threshold - step)
    elif goal.comparator in ("<=", "<"):
        out["threshold"] = float(goal.threshold + step)
    else:
        out.update({"threshold": float(goal.threshold), "tolerance": float(goal.tolerance + step),
                    "original_tolerance": float(goal.tolerance)})
    out["move"] = float(move)
    return out


def ranking_stability(met: np.ndarray, margin: np.ndarray, ok: np.ndarray, rest: np.ndarray,
                      blocking: list[int], target: float, seed: int,
                      bootstrap: int = BOOTSTRAP) -> tuple[list[int], int]:
    """Blocking goals ranked by the move they need (largest first) and how many of the
    leading ranks hold in ``STABLE_SHARE`` of bootstrap replicates over futures."""
    def order(values):
        return [blocking[i] for i in sorted(range(len(blocking)),
                                            key=lambda i: (-values[i], blocking[i]))]

    ranked = order([relaxation(met, margin, ok, rest, g, target) for g in blocking])
    if len(ranked) < 2:
        return ranked, len(ranked)
    rng = np.random.default_rng(seed)
    n = len(ok)
    weights = np.stack([rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
                        for _ in range(bootstrap)])
    hold = met[:, rest].all(axis=1)
    by_goal = np.stack([moves_for(hold, margin[:, g], ok, target, weights) for g in blocking],
                       axis=1)
    agree = np.zeros(len(ranked), dtype=int)
    for values in by_goal:
        replicate = order(values)
        k = 0
        while k < len(ranked) and replicate[k] == ranked[k]:
            k += 1
        agree[:k] += 1
    stable = 0
    while stable < len(ranked) and agree[stable] >= STABLE_SHARE * bootstrap:
        stable += 1
    return ranked, stable
