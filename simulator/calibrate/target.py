"""What calibration fits: the model's ``Calibrated:`` parameters against the history.

A :class:`Target` holds the calibrated parameters (names, documented ranges and
defaults, read from the model file) and the history's figures with their error
model, and evaluates many parameter sets at once on the vectorised engine:
:meth:`Target.standardized` gives each figure's error in standard deviations,
``(set, figure)``. Runs that leave the model's domain get ``inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .. import history, model, simulate
from ..paths import MODEL_FILE

# Assumptions the fit adds to the plan's figures, as figures with an error: the plan gives
# no employment figures, so the labour market is taken as balanced in 2000 within +-0.3.
ASSUMPTIONS = (history.Figure("job_availability", 2000, 1.0, "=", False, 0.1),)


@dataclass
class Target:
    """Calibrated parameters (sorted by name) and the figures they are fitted to."""

    names: list[str]
    lower: np.ndarray
    upper: np.ndarray
    default: np.ndarray
    figures: list[history.Figure]  # the history's, then ASSUMPTIONS
    mdl_path: Path
    fixed: dict[str, float]  # values of other parameters every run uses

    @classmethod
    def of_model(cls, mdl_path: Path | str = MODEL_FILE,
                 fixed: dict[str, float] | None = None) -> Target:
        free = model.parameters(mdl_path, role="calibrated")
        names = sorted(free)
        return cls(names, np.array([free[n].lower for n in names]),
                   np.array([free[n].upper for n in names]),
                   np.array([free[n].default for n in names]),
                   history.figures() + list(ASSUMPTIONS),
                   Path(mdl_path), dict(fixed or {}))

    @property
    def width(self) -> np.ndarray:
        return self.upper - self.lower

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.figures]

    def simulate(self, x: np.ndarray) -> xr.Dataset:
        """History-period indicators of the parameter sets ``x`` ``(set, parameter)``."""
        x = np.atleast_2d(x)
        params = {k: np.full(x.shape[0], v) for k, v in self.fixed.items()}
        params.update({n: x[:, i] for i, n in enumerate(self.names)})
        return simulate.run(params, history.indicators_needed(self.figures),
                            mdl_path=self.mdl_path, years=history.HISTORY_YEARS,
                            check_finite=False)

    def signed(self, data: xr.Dataset) -> np.ndarray:
        """Each figure's signed error in standard deviations, ``(set, figure)``."""
        cols = []
        for fig in self.figures:
            err = np.asarray(history.error(fig, history.simulated(fig, data)), dtype=float)
            cols.append(err / fig.sd)
        z = np.column_stack(cols)
        return np.where(np.isfinite(z), z, np.inf)

    def standardized(self, x: np.ndarray) -> np.ndarray:
        """Signed errors in standard deviations of the sets ``x``, ``(set, figure)``."""
        return self.signed(self.simulate(x))
