"""The history-matched ensemble: parameter sets of the history space no figure rules out.

:mod:`.waves` samples the documented prior restricted to the non-implausible space
(every figure within ``CUTOFF`` sd of its error model with the estimated discrepancy),
down to the cut-off, and :mod:`.mixing`'s chains sample it under each prior of
:mod:`.priors`; the sets stored are the ensemble, each prior's weights equal on its own
sets. Effective sizes per prior are the chains' ESS. Nothing is screened after the
sampler: each set reproduces the history by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..inputs import history
from . import identify, mixing, priors, waves
from .target import Target
from .waves import CalibrationFailed

__all__ = ["CalibrationFailed", "Ensemble", "history_match"]

PARTICLES = 1000  # the waves' population: the chains' start and proposal archive
CHAINS = 120  # per prior (30 in each of the 4 islands)
QUICK = {"particles": 120, "keep": 0.3, "max_moves": 8, "chains": 16, "min_steps": 40,
         "max_steps": 80, "warmup": 6}  # for tests: a rough calibration, not converged
MISFIT = 1.5  # |mean z| above this over the sets: a structural misfit, named with its size
BOUND_SHARE = 0.02  # of the range width: a set this close to a bound sits on it
BOUND_HIT = 0.10  # share of sets on a bound above which the bound binds (a finding)


@dataclass
class Ensemble:
    """Sets ``(set, parameter)`` with their history errors and weights per prior."""

    names: list[str]
    values: np.ndarray
    z: np.ndarray  # signed errors in sd, (set, figure)
    figures: list[str]
    weights: dict[str, np.ndarray]  # prior -> normalised weights over sets
    point: dict[str, float]
    diagnostics: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def effective_sizes(self) -> dict[str, float]:
        """Per prior: the effective number of its sets (the chains' ESS, at most the sets)."""
        by = self.diagnostics.get("effective_sets_by_prior", {})
        return {p: float(by.get(p, priors.effective_size(w))) for p, w in self.weights.items()}

    def spread(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Weighted 5-95% width of each parameter among the sets, per documented range width."""
        w = self.weights["documented"]
        out = []
        for j in range(len(self.names)):
            order = np.argsort(self.values[:, j])
            cdf = np.cumsum(w[order])
            lo = self.values[order[np.searchsorted(cdf, 0.05)], j]
            hi = self.values[order[min(np.searchsorted(cdf, 0.95), len(cdf) - 1)], j]
            out.append((hi - lo) / (upper[j] - lower[j]))
        return np.array(out)

    def residuals(self, target: Target) -> list[dict]:
        """Per figure: mean and sd of z over the sets, share within the cut-off; a mean
        beyond ``MISFIT`` is a structural misfit, its size the mean error in the unit."""
        w = self.weights["documented"]
        rows = []  # documented sets only
        for i, fig in enumerate(target.figures):
            z = self.z[:, i]
            mean = float(np.sum(w * z))
            rows.append({"figure": fig.key, "history": fig.value, "sd": fig.sd,
                         "mean_z": mean, "sd_z": float(np.sqrt(np.sum(w * (z - mean) ** 2))),
                         "mean_error": mean * fig.sd,
                         "within": float(np.sum(w * (np.abs(z) <= history.CUTOFF))),
                         "structural_misfit": bool(abs(mean) > MISFIT)})
        return rows

    def bound_hits(self, target: Target) -> list[dict]:
        """Parameters whose sets pile on a bound, with the figure that pushes them there:
        the one whose squared error grows most when the parameter moves off the bound
        (Jacobian at the sets' median)."""
        w = self.weights["documented"]
        rel = (self.values - target.lower) / target.width
        hits = []
        for j, name in enumerate(self.names):
            for side, near in (("lower", rel[:, j] <= BOUND_SHARE),
                               ("upper", rel[:, j] >= 1 - BOUND_SHARE)):
                share = float(np.sum(w[near]))
                if share > BOUND_HIT:
                    hits.append({"parameter": name, "bound": side, "share_of_sets": share,
                                 "value": float(target.lower[j] if side == "lower"
                                                else target.upper[j])})
        if hits:
            med = np.median(self.values, axis=0)
            jac = identify.jacobian(target, med)
            z = target.standardized(med)[0]
            for h in hits:
                j = self.names.index(h["parameter"])
                inward = 1.0 if h["bound"] == "lower" else -1.0
                push = np.where(np.isfinite(z), z, 0.0) * jac[:, j] * inward
                i = int(np.argmax(push))
                h["pushed_by"] = target.keys[i] if push[i] > 0 else "none (prior only)"
                h["push_sd_per_range"] = float(max(push[i], 0.0))
        return hits


def history_match(target: Target, start: np.ndarray, seed: int = 0,
                  particles: int = PARTICLES, max_steps: int = mixing.MAX_STEPS,
                  progress=None, keep: float = waves.KEEP, max_moves: int = waves.MAX_MOVES,
                  chains: int = CHAINS, min_steps: int = mixing.MIN_STEPS,
                  warmup: int = mixing.WARMUP, workers: int = 1) -> Ensemble:
    """The waves (documented prior) down to the cut-off, then each prior's own chains
    (:mod:`.mixing`) from their population: a prior's weights are equal on its own sets,
    zero on the others'; its effective sets are its chains' ESS."""
    found = waves.sample(target, "documented", particles, [int(seed), 11], progress=progress,
                         keep=keep, max_moves=max_moves)
    sampler = waves._Sampler(target, "documented", None, progress)
    runs = mixing.run(sampler, found["values"], found["z"], found["island"], chains,
                      [int(seed), 13], max_steps=max_steps, warmup=warmup,
                      min_steps=min_steps, workers=workers)
    values = np.concatenate([r["values"] for r in runs.values()])
    z = np.concatenate([r["z"] for r in runs.values()])
    weights, at = {}, 0
    for prior, r in runs.items():
        w = np.zeros(values.shape[0])
        w[at:at + r["values"].shape[0]] = 1.0 / r["values"].shape[0]
        weights[prior] = w
        at += r["values"].shape[0]
    doc = runs["documented"]["diagnostics"]
    diagnostics = {"method": "history matching in waves (adaptive cut-offs, sequential Monte "
                             "Carlo with differential-evolution moves) down to the cut-off, "
                             "then Metropolis chains per prior (DE-MCz random walk, "
                             "prefetched along the rejection path) until converged",
                   "prior_sampled": "each prior by its own chains",
                   "seed": int(seed), "cutoff_sd": history.CUTOFF,
                   "figures_matched": len(target.figures),
                   "history_figures": target.n_history,
                   "particles": found["particles"], "islands": found["islands"],
                   "waves": found["waves"], "keep": keep, "max_moves": max_moves,
                   "wave_runs": found["evaluations"], "evaluations": found["evaluations"]
                   + sampler.evaluations, **doc,
                   "converged": all(r["diagnostics"]["converged"] for r in runs.values()),
                   "stored_sets": int(values.shape[0]),
                   "effective_sets_by_prior": {p: r["diagnostics"]["effective_sets"]
                                               for p, r in runs.items()},
                   "priors": {p: {k: v for k, v in r["diagnostics"].items()
                                  if k != "per_parameter"} for p, r in runs.items()}}
    if not np.all(np.abs(z) <= history.CUTOFF):
        raise CalibrationFailed("a stored set lies outside the non-implausible space")
    return Ensemble(list(target.names), values, z, target.keys, weights,
                    dict(zip(target.names, map(float, start))), diagnostics)
