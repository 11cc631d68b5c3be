"""How much of a verdict is what the model does not know about the past.

``variance_shares``: the share of each goal's (and joint success's) outcome variance
due to the calibration set, against the future uncertainties. Runs come in groups
sharing a calibration draw (:func:`simulator.sample.with_calibration`); the share is
the one-way random-effects ANOVA estimate (between-set variance over total, the
intraclass correlation), on the 0/1 outcome met/missed.

``robustness``: the verdict under several priors on the calibrated parameters side
by side (the same futures, calibration sets drawn by each prior's weights), naming
every goal whose probability moves by more than ``THRESHOLD`` or whose verdict
(more likely met than not) flips.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.10  # probability points that make a goal prior-dependent


def _icc(y: np.ndarray, groups: np.ndarray) -> float | None:
    """Between-group share of the variance of ``y`` (None when ``y`` does not vary)."""
    if y.size < 2 or np.all(y == y[0]):
        return None
    labels, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    k, n = labels.size, y.size
    if k < 2 or n <= k:
        return None
    means = np.bincount(inverse, weights=y) / sizes
    msb = float(np.sum(sizes * (means - y.mean()) ** 2) / (k - 1))
    msw = float(np.sum((y - means[inverse]) ** 2) / (n - k))
    n0 = (n - np.sum(sizes.astype(float) ** 2) / n) / (k - 1)
    between = max(0.0, (msb - msw) / n0)
    total = between + msw
    return float(between / total) if total > 0 else None


def variance_shares(met: np.ndarray, goals: list[str], groups: np.ndarray,
                    mask: np.ndarray | None = None) -> dict:
    """Per goal and for ``ALL``: ``{"calibration": s, "future": 1 - s}`` or None (no variance)."""
    mask = np.ones(met.shape[0], bool) if mask is None else np.asarray(mask, bool)
    met, groups = np.asarray(met, bool)[mask], np.asarray(groups)[mask]
    out = {}
    columns = [(g, met[:, i]) for i, g in enumerate(goals)] + [("ALL", met.all(axis=1))]
    for name, y in columns:
        share = _icc(y.astype(float), groups)
        out[name] = None if share is None else {"calibration": share, "future": 1.0 - share}
    return out


def robustness(by_prior: dict[str, dict], reference: str = "documented",
               threshold: float = THRESHOLD) -> dict:
    """Goal and joint probabilities per prior, and the goals that depend on the prior.

    ``by_prior`` maps a prior's name to a summary of
    :func:`simulator.analyze.reachability.summarize`. A prior under which no run is
    plausible has no probability (None) and is left out of the comparison.
    """
    ref = by_prior[reference]
    names = list(ref["goals"]) + ["ALL"]

    def prob(summary, name):
        entry = summary["joint_probability"] if name == "ALL" else summary["goals"][name]
        return entry["probability"]

    table = {p: {n: prob(s, n) for n in names} for p, s in by_prior.items()}
    dependent = []
    for name in names:
        values = [table[p][name] for p in by_prior if table[p][name] is not None]
        if len(values) < 2:  # no plausible run under all but one prior: nothing to compare
            continue
        spread = max(values) - min(values)
        flips = len({v >= 0.5 for v in values}) > 1
        if spread > threshold or flips:
            dependent.append({"goal": name, "spread": spread, "verdict_flips": flips,
                              "by_prior": {p: table[p][name] for p in by_prior}})
    dependent.sort(key=lambda d: (-d["spread"], d["goal"]))
    return {"reference": reference, "threshold": threshold, "probabilities": table,
            "prior_dependent": dependent}
