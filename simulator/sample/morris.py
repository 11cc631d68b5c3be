"""Morris's elementary-effects design: ``n`` one-at-a-time trajectories (SALib)."""

from __future__ import annotations

import numpy as np
from SALib.sample import morris as _morris

LEVELS = 4


def sample(problem: dict, n: int, seed: int, levels: int = LEVELS) -> np.ndarray:
    """``n * (D + 1)`` points on the unit cube, on a grid of ``levels`` levels."""
    if n < 2:
        raise ValueError(f"Morris needs at least 2 trajectories, not {n}")
    unit = {**problem, "bounds": [[0.0, 1.0]] * problem["num_vars"]}
    return _morris.sample(unit, n, num_levels=levels, seed=seed)


def runs(problem: dict, n: int) -> int:
    """How many runs ``sample`` asks for."""
    return n * (problem["num_vars"] + 1)
