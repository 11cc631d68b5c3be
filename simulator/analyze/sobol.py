"""Sobol indices (SALib): first-order S1 and total ST with 95% bootstrap intervals.

Needs ``y`` on Saltelli's design (:mod:`simulator.sample.saltelli`), in its order.
"""

from __future__ import annotations

import numpy as np
from SALib.analyze import sobol as _sobol

INDICES = ("S1", "S1_conf", "ST", "ST_conf")
RESAMPLES = 200


def analyze(problem: dict, x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """S1, ST and the half-widths of their 95% intervals, one value per input.

    ``x`` is not used (the design's order carries it); a constant ``y`` has no
    variance to share out and gets zeros.
    """
    if np.ptp(y) == 0:
        return {k: np.zeros(problem["num_vars"]) for k in INDICES}
    result = _sobol.analyze(problem, np.asarray(y, dtype=float), calc_second_order=False,
                            num_resamples=RESAMPLES, conf_level=0.95, seed=seed)
    return {k: np.asarray(result[k], dtype=float) for k in INDICES}
