"""The history-matched ensemble: parameter sets the history does not rule out.

Bayesian calibration with ``emcee`` (affine-invariant ensemble sampler with
differential-evolution moves, which copes with the long, thin valleys the
non-identified combinations make): likelihood Gaussian in the figures' errors in
standard deviations of the error model, prior uniform on the documented ranges.
Every walker step of every walker is one vectorised integration, so a chain of
``WALKERS x STEPS`` sets costs ``STEPS`` engine calls. Walkers start around the
point fit, spread by the local posterior covariance (Laplace approximation), so
undetermined directions start spread over their prior.

The chain after ``BURN`` steps, thinned, is then screened as history matching
does: a set is accepted when no figure puts it more than ``CUTOFF`` standard
deviations away. Accepted sets carry weights for each prior of
:mod:`simulator.calibrate.priors` (importance weights from the uniform sample).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import emcee
import numpy as np

from ..errors import PlansimError
from ..inputs import history
from . import identify, priors
from .target import Target


class CalibrationFailed(PlansimError):
    """The history rules out every sampled parameter set."""


WALKERS = 384  # many walkers, few steps: an engine call costs about the same for 48 or 200 sets
STEPS = 400
BURN = 200
THIN = 10


@dataclass
class Ensemble:
    """Accepted parameter sets ``(set, parameter)`` with their history errors and weights."""

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
        return {p: priors.effective_size(w) for p, w in self.weights.items()}

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


def _initial(target: Target, start: np.ndarray, rng: np.random.Generator,
             walkers: int) -> np.ndarray:
    jac = identify.jacobian(target, start)
    k = len(target.names)
    precision = jac.T @ jac + identify.PRIOR_PRECISION * np.eye(k)
    try:
        chol = np.linalg.cholesky(np.linalg.inv(precision) + 1e-12 * np.eye(k))
    except np.linalg.LinAlgError:  # ill-conditioned (errors of astronomical size): a square
        lam, vec = np.linalg.eigh(precision)  # root of the same covariance, eigenvalues >= prior
        chol = vec / np.sqrt(np.maximum(lam, identify.PRIOR_PRECISION))
    unit = (start - target.lower) / target.width + rng.standard_normal((walkers, k)) @ chol.T
    unit = np.clip(unit, 1e-6, 1 - 1e-6)
    return target.lower + unit * target.width


def history_match(target: Target, start: np.ndarray, seed: int = 0, walkers: int = WALKERS,
                  steps: int = STEPS, burn: int = BURN, thin: int = THIN,
                  progress=None) -> Ensemble:
    """Sample the posterior under the uniform prior; keep the sets history does not rule out."""
    if not (thin >= 1 and 0 <= burn and steps - burn >= thin):
        raise ValueError("need thin >= 1, burn >= 0 and steps - burn >= thin")
    rng = np.random.default_rng(seed)
    k = len(target.names)

    def log_prob(x: np.ndarray) -> np.ndarray:
        inside = np.all((x >= target.lower) & (x <= target.upper), axis=1)
        out = np.full(x.shape[0], -np.inf)
        if inside.any():
            z = target.standardized(x[inside])
            out[inside] = np.where(np.all(np.isfinite(z), axis=1),
                                   -0.5 * np.sum(np.where(np.isfinite(z), z, 0.0) ** 2, axis=1),
                                   -np.inf)
        if progress is not None:
            progress(1)
        return out

    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, k, log_prob, vectorize=True, moves=moves)
    state = emcee.State(_initial(target, start, rng, walkers),
                        random_state=np.random.RandomState(seed).get_state())
    sampler.run_mcmc(state, steps)
    chain = sampler.get_chain(discard=burn, thin=thin, flat=True)
    z = np.vstack([target.standardized(chain[i:i + 2000]) for i in range(0, len(chain), 2000)])
    n_hist = target.n_history
    accepted = np.all(np.abs(z[:, :n_hist]) <= history.CUTOFF, axis=1)
    values, z = chain[accepted], z[accepted]
    if values.shape[0] == 0:
        worst = float(np.max(np.abs(target.standardized(start))))
        missed = (f"misses a figure by {worst:.3g} sd" if np.isfinite(worst)
                  else "is outside the model's domain")
        raise CalibrationFailed(f"no sampled parameter set reproduces the history within "
                                f"{history.CUTOFF:g} sd (the point fit {missed}); see "
                                "`plansim calibrate --report --dry-run` and the project's "
                                "observation-error file")
    weights = {p: priors.weights(p, values, target.lower, target.upper, target.default)
               for p in priors.PRIORS}
    emcee_log = logging.getLogger("emcee")
    level = emcee_log.level
    emcee_log.setLevel(logging.ERROR)  # it warns that short chains give rough estimates
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            taus = sampler.get_autocorr_time(discard=burn, quiet=True)
    finally:
        emcee_log.setLevel(level)
    tau = float(np.nanmax(taus)) if np.isfinite(taus).any() else float("nan")
    diagnostics = {"sampler": "emcee.EnsembleSampler (DEMove 0.8, DESnookerMove 0.2)",
                   "prior_sampled": "uniform", "walkers": walkers, "steps": steps,
                   "burn": burn, "thin": thin, "seed": int(seed),
                   "acceptance_fraction": float(np.mean(sampler.acceptance_fraction)),
                   "autocorrelation_time_max": tau if np.isfinite(tau) else -1.0,
                   "chain_sets": int(chain.shape[0]), "accepted_sets": int(values.shape[0]),
                   "cutoff_sd": history.CUTOFF}
    return Ensemble(list(target.names), values, z, target.keys, weights,
                    dict(zip(target.names, map(float, start))), diagnostics)
