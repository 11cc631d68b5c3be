"""Morris screening (SALib): μ* (mean absolute elementary effect, with its 95% interval) and σ.

Needs ``x`` and ``y`` on Morris's design (:mod:`simulator.sample.morris`). Effects
are per unit of the input's range (the design lives on the unit cube), so μ* is
comparable across inputs; a large σ against μ* flags non-linearity or interaction.
"""

from __future__ import annotations

import numpy as np
from SALib.analyze import morris as _morris

from ..sample.morris import LEVELS

INDICES = ("mu_star", "mu_star_conf", "sigma", "mu")
RESAMPLES = 200


def analyze(problem: dict, x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """μ*, its 95% interval half-width, σ and μ, one value per input."""
    if np.ptp(y) == 0:
        return {k: np.zeros(problem["num_vars"]) for k in INDICES}
    result = _morris.analyze(problem, np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                             num_resamples=RESAMPLES, conf_level=0.95, num_levels=LEVELS,
                             seed=seed)
    return {k: np.asarray(result[k], dtype=float) for k in INDICES}
