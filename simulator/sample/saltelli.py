"""Saltelli's design for first-order and total Sobol indices (SALib, scrambled Sobol' sequence)."""

from __future__ import annotations

import numpy as np
from SALib.sample import sobol as _sobol


def sample(problem: dict, n: int, seed: int) -> np.ndarray:
    """``n * (D + 2)`` points on the unit cube (``n`` a power of 2 keeps the sequence balanced)."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"Saltelli's base sample size must be a power of 2, not {n}")
    unit = {**problem, "bounds": [[0.0, 1.0]] * problem["num_vars"]}
    return _sobol.sample(unit, n, calc_second_order=False, scramble=True, seed=seed)


def runs(problem: dict, n: int) -> int:
    """How many runs ``sample`` asks for."""
    return n * (problem["num_vars"] + 2)
