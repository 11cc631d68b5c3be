"""The history space: every parameter that acts on the 2000-2005 figures, measured on the model.

A parameter's class follows from the model file's role and one measurement, so a new
model is classified again without a hand list:

* ``history`` - a ``Calibrated:`` parameter, or an ``Uncertain:`` one that moves any
  history figure (or soft target) when set to either end of its documented range
  (everything else at the defaults, or at the committed calibration's point: a cap
  such as the maximum wage tightness binds only at some points): ``plansim calibrate``
  matches them jointly;
* ``future`` - an ``Uncertain:`` parameter that leaves every history figure exactly
  where it is: it acts from the plan period on and ensembles sample it independently
  (``scenarios/uncertainties.toml``);
* ``lever`` - a ``Lever:`` (the plan's decision); one that moves the history is reported;
* ``fixed`` - any other constant (a figure of the plan or a fixed fact).

The measurement is one vectorised engine call of ``2 x (calibrated + uncertain + levers)``
runs per base point. ``effect`` is the largest change of a figure, in standard deviations of its error
model; a change above ``ACTS`` (numerical noise) puts an Uncertain parameter in the
history space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs import history, model
from ..inputs.project import Project, find
from ..running import simulate

ACTS = 1e-6  # sd: a larger change of any history figure means the parameter acts before 2006
CLASSES = ("history", "future", "lever", "fixed")


@dataclass(frozen=True)
class Classified:
    """One parameter's class and the measured effect behind it."""

    name: str
    role: str
    cls: str
    effect: float  # largest change of a history figure (sd) between the ends of its range


def effects(project: Project, names: list[str], base: dict[str, float] | None = None,
            figures: list[history.Figure] | None = None) -> np.ndarray:
    """Largest change (sd) of any figure when each of ``names`` goes to either end of its
    documented range from ``base`` (default: the model's defaults); inf leaves the domain."""
    from .target import assumptions

    params_doc = model.parameters(project)
    figs = figures if figures is not None else history.figures(project) + assumptions(project)
    base = dict(base or {})
    n = 1 + 2 * len(names)
    params = {k: np.full(n, v, dtype=float) for k, v in base.items()}
    for i, name in enumerate(names):
        p = params_doc[name]
        col = params.setdefault(name, np.full(n, base.get(name, p.default), dtype=float))
        col[1 + 2 * i], col[2 + 2 * i] = p.lower, p.upper
    years = sorted(set(project.history_settings.years) | {f.year for f in figs})
    data = simulate.run(params, history.indicators_needed(figs), project=project, years=years)
    z = np.column_stack([np.asarray(history.error(f, history.simulated(f, data)), dtype=float)
                         / f.sd for f in figs])
    delta = np.abs(z[1:] - z[0][None, :])
    delta = np.where(np.isfinite(delta), delta, np.inf)
    return delta.reshape(len(names), 2, -1).max(axis=(1, 2))


def classify(project: Project | None = None,
             point: dict[str, float] | None = None) -> dict[str, Classified]:
    """Every constant of the model with its class (see the module's docstring); effects
    measured at the defaults and at ``point`` (default: the committed calibration's)."""
    project = find() if project is None else project
    params = model.parameters(project)
    measured = sorted(n for n, p in params.items() if p.role in model.ROLES)
    moved = dict.fromkeys(measured, 0.0)
    with np.errstate(all="ignore"):
        for base in (_bases(project) if point is None else [{}, point]):
            if measured:
                for n, e in zip(measured, effects(project, measured, base=base)):
                    moved[n] = max(moved[n], float(e))
    out = {}
    for name, p in params.items():
        effect = moved.get(name, 0.0)
        if p.role == "calibrated" or (p.role == "uncertain" and effect > ACTS):
            cls = "history"
        elif p.role == "uncertain":
            cls = "future"
        else:
            cls = p.role
        out[name] = Classified(name, p.role, cls, effect)
    return out


def _bases(project: Project) -> list[dict[str, float]]:
    """Where effects are measured: the model's defaults, and the committed calibration's
    point (a cap or a threshold may bind only there; skipped when it does not fit the
    model, e.g. a calibration of an older model)."""
    from ..errors import InputError
    from . import load_values

    bases = [{}]
    if project.calibration is not None and project.calibration.is_file():
        try:
            bases.append(load_values(project.calibration, project))
        except InputError:
            pass
    return bases


def history_space(project: Project | None = None) -> list[str]:
    """Names of the parameters matched jointly to the history, sorted."""
    return sorted(n for n, c in classify(project).items() if c.cls == "history")
