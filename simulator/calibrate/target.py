"""What calibration fits: the model's ``Calibrated:`` parameters against the history.

A :class:`Target` holds the calibrated parameters (names, documented ranges and
defaults, read from the project's model file), the history's figures with their
error model and the project's soft targets (``[[history.soft_target]]``: assumptions
the fit adds to the history, each with a standard deviation, e.g. the Karamay plan's
balanced labour market in 2000), and evaluates many parameter sets at once on the
vectorised engine: :meth:`Target.standardized` gives each figure's error in standard
deviations, ``(set, figure)``. Runs that leave the model's domain get ``inf``;
:meth:`Target.capped` bounds the errors at ``CAP`` standard deviations for the
optimisers (scipy's SVD and emcee's moves refuse inf and NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError
from ..inputs import history, model
from ..inputs.project import Project, find
from ..running import simulate

CAP = 1e6  # sd: errors the optimisers see are at most this (non-finite ones: exactly this)


def assumptions(project: Project) -> list[history.Figure]:
    """The project's soft targets as figures with an error (fitted, never screened)."""
    return [history.Figure(t.indicator, t.year, t.value, "=", False, t.sd)
            for t in project.history_settings.soft_targets]


@dataclass
class Target:
    """Calibrated parameters (sorted by name) and the figures they are fitted to."""

    names: list[str]
    lower: np.ndarray
    upper: np.ndarray
    default: np.ndarray
    figures: list[history.Figure]  # the history's (n_history of them), then soft targets
    n_history: int
    project: Project
    fixed: dict[str, float]  # values of other parameters every run uses

    @classmethod
    def of_model(cls, project: Project | None = None, fixed: dict[str, float] | None = None,
                 names: list[str] | None = None,
                 discrepancy: dict[str, float] | None = None) -> Target:
        """The history space's parameters (default: :func:`.space.history_space`) and the
        figures, with each family's ``discrepancy`` added to their sd (default: the
        project's calibration file's; ``{}``: none)."""
        from . import discrepancy as disc
        from .space import history_space

        project = find() if project is None else project
        if not model.parameters(project, role="calibrated"):
            raise InputError(project.model, None, "no constant is marked `Calibrated:`",
                             "start the comment of each parameter to fit with `Calibrated:`")
        names = sorted(history_space(project) if names is None else names)
        free = model.parameters(project)
        figs = history.figures(project, discrepancy=False)
        if discrepancy is None:
            discrepancy = history.committed_discrepancy(project)
        if discrepancy:
            figs = disc.applied(figs, disc.families(project, figs), discrepancy)
        return cls(names, np.array([free[n].lower for n in names]),
                   np.array([free[n].upper for n in names]),
                   np.array([free[n].default for n in names]),
                   figs + assumptions(project), len(figs), project, dict(fixed or {}))

    @property
    def width(self) -> np.ndarray:
        return self.upper - self.lower

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.figures]

    @property
    def years(self) -> list[int]:
        return sorted(set(self.project.history_settings.years)
                      | {f.year for f in self.figures})

    def _params(self, x: np.ndarray) -> dict[str, np.ndarray]:
        x = np.atleast_2d(x)
        params = {k: np.full(x.shape[0], v) for k, v in self.fixed.items()}
        params.update({n: x[:, i] for i, n in enumerate(self.names)})
        return params

    def simulate(self, x: np.ndarray) -> xr.Dataset:
        """History-period indicators of the parameter sets ``x`` ``(set, parameter)``."""
        return simulate.run(self._params(x), history.indicators_needed(self.figures),
                            project=self.project, years=self.years)

    def signed(self, data: xr.Dataset) -> np.ndarray:
        """Each figure's signed error in standard deviations, ``(set, figure)``."""
        cols = []
        for fig in self.figures:
            err = np.asarray(history.error(fig, history.simulated(fig, data)), dtype=float)
            cols.append(err / fig.sd)
        z = np.column_stack(cols)
        return np.where(np.isfinite(z), z, np.inf)

    def standardized(self, x: np.ndarray) -> np.ndarray:
        """Signed errors in standard deviations of the sets ``x``, ``(set, figure)``: the
        runs stop at the last history year and no dataset is built
        (:func:`.simulate.history_run`); bit-identical to ``signed(simulate(x))``."""
        data, times = simulate.history_run(self._params(x),
                                           history.indicators_needed(self.figures),
                                           project=self.project, years=self.years)
        z = np.column_stack([np.asarray(history.error(f, history.simulated_array(f, data, times)),
                                        dtype=float) / f.sd for f in self.figures])
        return np.where(np.isfinite(z), z, np.inf)

    def capped(self, x: np.ndarray, outside: float = CAP) -> np.ndarray:
        """:meth:`standardized` within ``[-CAP, CAP]``; ``outside`` where the run left the
        model's domain (not finite). Derivatives of these stay finite."""
        z = self.standardized(x)
        return np.clip(np.where(np.isfinite(z), z, outside), -CAP, CAP)
