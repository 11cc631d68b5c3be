"""Samples of the uncertainties: Latin hypercube (``scipy.stats.qmc``), seeded.

The same seed and scenario give bit-identical samples, whatever the executor:
the full design is drawn once and split into blocks afterwards.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.stats import qmc

from ..inputs.scenario import Uncertainty


def latin_hypercube(uncertainties: dict[str, Uncertainty], n: int, seed: int) -> xr.Dataset:
    """``n`` runs of every uncertainty (sorted by name), as ``(run,)`` variables."""
    if n < 1:
        raise ValueError("the number of runs must be at least 1")
    names = sorted(uncertainties)
    run = np.arange(n)
    if not names:  # (the seed still keys the runs' RANDOM streams, see ensemble.run_block)
        return xr.Dataset(coords={"run": run}, attrs={"seed": int(seed)})
    unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(n)
    data = {name: ("run", np.asarray(uncertainties[name].ppf(unit[:, i]), dtype=float))
            for i, name in enumerate(names)}
    ds = xr.Dataset(data, coords={"run": run})
    ds.attrs.update({"sampler": "scipy.stats.qmc.LatinHypercube", "seed": int(seed)})
    return ds


def sample(problem: dict, n: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube on the unit cube of ``problem``'s inputs."""
    if n < 1:
        raise ValueError("the number of runs must be at least 1")
    return qmc.LatinHypercube(d=problem["num_vars"], seed=np.random.default_rng(seed)).random(n)


def runs(problem: dict, n: int) -> int:
    """How many runs ``sample`` asks for."""
    return n
