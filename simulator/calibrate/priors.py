"""Priors on the calibrated parameters, each built from the model file's documentation.

* ``documented`` - the model file's default is the best guess and its range holds
  about two standard deviations either side: a normal centred on the default with
  sd = range / 4, truncated to the range. The ensemble's reference weights.
* ``uniform`` - nothing but the documented range: uniform on it.
* ``mirrored`` - as ``documented``, centred on the default mirrored in its range
  (``lower + upper - default``): what another modeller starting from other
  defaults would have assumed; the issue's "calibration started from a different
  default".

Parameters are independent under every prior. Each prior has its own chains
(:mod:`.mixing`); :func:`weights_from` only moves their starting points.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

PRIORS = ("documented", "uniform", "mirrored")
SD_PER_RANGE = 0.25
DESCRIPTIONS = {
    "documented": "normal at the model file's default, sd = range/4, truncated to the range",
    "uniform": "uniform on the documented range",
    "mirrored": "normal at the default mirrored in its range (lower + upper - default), "
                "sd = range/4, truncated",
}


def centre(name: str, lower: np.ndarray, upper: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Where a prior puts its mode (per parameter)."""
    if name == "mirrored":
        return lower + upper - default
    return np.asarray(default, dtype=float)


def logpdf(name: str, x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
           default: np.ndarray) -> np.ndarray:
    """Log density of the sets ``x`` ``(set, parameter)`` under prior ``name``, ``(set,)``."""
    if name not in PRIORS:
        raise ValueError(f"unknown prior {name!r}; use one of {', '.join(PRIORS)}")
    x = np.atleast_2d(x)
    inside = np.all((x >= lower) & (x <= upper), axis=1)
    if name == "uniform":
        dens = np.full(x.shape[0], -np.sum(np.log(upper - lower)))
    else:
        sd = SD_PER_RANGE * (upper - lower)
        mu = centre(name, lower, upper, default)
        a, b = (lower - mu) / sd, (upper - mu) / sd
        dens = stats.truncnorm.logpdf(x, a, b, loc=mu, scale=sd).sum(axis=1)
    return np.where(inside, dens, -np.inf)


def weights(name: str, x: np.ndarray, lower, upper, default) -> np.ndarray:
    """Normalised importance weights turning a uniform-prior sample into prior ``name``'s."""
    log = logpdf(name, x, lower, upper, default) - logpdf("uniform", x, lower, upper, default)
    log = log - np.max(log)
    w = np.exp(log)
    return w / w.sum()


def effective_size(w: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights."""
    return float(1.0 / np.sum(np.square(w)))


def draw(name: str, unit: np.ndarray, lower, upper, default) -> np.ndarray:
    """Sets ``(set, parameter)`` of prior ``name`` from uniform numbers ``unit`` in [0, 1)."""
    if name not in PRIORS:
        raise ValueError(f"unknown prior {name!r}; use one of {', '.join(PRIORS)}")
    if name == "uniform":
        return lower + unit * (upper - lower)
    sd = SD_PER_RANGE * (upper - lower)
    mu = centre(name, lower, upper, default)
    return stats.truncnorm.ppf(unit, (lower - mu) / sd, (upper - mu) / sd, loc=mu, scale=sd)


def weights_from(name: str, sampled: str, x: np.ndarray, lower, upper, default) -> np.ndarray:
    """Normalised importance weights turning a sample of prior ``sampled`` into ``name``'s."""
    log = logpdf(name, x, lower, upper, default) - logpdf(sampled, x, lower, upper, default)
    log = log - np.max(log)
    w = np.exp(log)
    return w / w.sum()
