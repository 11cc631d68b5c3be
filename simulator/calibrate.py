"""Calibration: fit the model's ``Calibrated:`` parameters to the project's history.

``scipy.optimize.least_squares`` (bounded trust region) minimises relative errors
against every represented figure of the history file (figures with a tolerance in
points are scaled so that their tolerance weighs like the relative tolerance), a
hinge on each bound the history states (rows with comparator ``<``, e.g. the
Karamay plan's < 8‰ natural growth in the worst year 2000-2005), the soft targets
of the manifest (``[[history.soft_target]]``; Karamay: the labour market is
balanced in 2000), and a weak pull of each parameter toward its default in the
model file (weight 0.03 per range width), which keeps the fit identifiable where
the history cannot (an external review found the Karamay Jacobian of rank 15 for
24 parameters). First-year figures the model takes as initial values
(``history.initial_values``) are reported, not fitted. Runs are single plain-PySD
runs (:func:`simulator.simulate.run_one`); calibrating the Karamay model from its
defaults takes about 10 s.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w
from scipy.optimize import least_squares

from . import history, model, outputs, simulate, tomlfile, validate
from .errors import InputError
from .project import Project, find
from .provenance import file_hash, versions

PRIOR_WEIGHT = 0.03
DIFF_STEP = 1e-4  # relative step of the forward-difference Jacobian


def assumptions(project: Project) -> dict[str, str]:
    """The fit's assumptions beside the history: soft targets and the prior pull."""
    out = {f"{t.indicator}_{t.year}": f"{t.indicator} = {t.value:g} in {t.year} "
                                      f"(weight {t.weight:g}): {t.reason}"
           for t in project.history_settings.soft_targets}
    out["prior_pull"] = (f"each parameter pulled to its default with weight {PRIOR_WEIGHT:g} "
                         "per range width")
    return out


@dataclass
class Calibration:
    """A fitted parameter set with its residual table."""

    values: dict[str, float]
    bounds: dict[str, tuple[float, float]]
    residuals: list[dict]
    cost: float
    evaluations: int
    model_hash: str
    history_hash: str
    project: Project

    @property
    def all_within(self) -> bool:
        return all(r["within"] for r in self.residuals)

    def table(self) -> str:
        """The residual table as text."""
        lines = [f"{'figure':28s} {'history':>10s} {'model':>10s} {'error':>9s} {'tol':>6s}  ok"]
        for r in self.residuals:
            unit = " pt" if r["absolute"] else " %"
            err = r["error"] if r["absolute"] else 100 * r["error"]
            tol = r["tolerance"] if r["absolute"] else 100 * r["tolerance"]
            comp = "<" if r["comparator"] == "<" else " "
            lines.append(f"{r['figure']:28s} {comp}{r['history']:>9.6g} {r['model']:>10.6g} "
                         f"{err:>+7.2f}{unit} {tol:>5.3g}  {'yes' if r['within'] else 'NO'}")
        return "\n".join(lines)


def _fit_targets(project: Project):
    figs = history.figures(project)
    return [f for f in figs if not (f.comparator == "=" and _is_initial_condition(f, project))
            ], figs


def _is_initial_condition(fig: history.Figure, project: Project) -> bool:
    """First-year figures the model takes as initial values reproduce exactly; fitting them
    is moot."""
    settings = project.history_settings
    return fig.year == settings.years.start and fig.indicator in settings.initial_values


def _residuals(data, figs, x, x0, width, project: Project) -> np.ndarray:
    """Residual matrix (run, residual) for the runs of ``data``."""
    relative = project.history_settings.relative_tolerance
    cols = []
    for fig in figs:
        err = history.error(fig, history.simulated(fig, data)).values
        cols.append(err * relative / fig.tolerance if fig.absolute else err)
    for target in project.history_settings.soft_targets:
        cols.append(target.weight * (data[target.indicator].sel(time=target.year).values
                                     - target.value))
    cols.extend((PRIOR_WEIGHT * (x - x0) / width).T)
    return np.column_stack(cols)


def calibrate(project: Project | None = None, max_nfev: int = 200) -> Calibration:
    """Fit the calibrated parameters; return the fit and its residual table."""
    project = find() if project is None else project
    free = model.parameters(project, role="calibrated")
    if not free:
        raise InputError(project.model, None, "no constant is marked `Calibrated:`",
                         "start the comment of each parameter to fit with `Calibrated:`")
    names = sorted(free)
    lower = np.array([free[n].lower for n in names])
    upper = np.array([free[n].upper for n in names])
    x0 = np.array([free[n].default for n in names])
    width = upper - lower
    fit_figs, all_figs = _fit_targets(project)
    targets = project.history_settings.soft_targets
    wanted = sorted(set(history.indicators_needed(all_figs)) | {t.indicator for t in targets})
    years = sorted(set(project.history_settings.years) | {t.year for t in targets})

    def simulate_one(x: np.ndarray):
        data = simulate.run_one(dict(zip(names, x)), wanted, project=project, years=years)
        return data, _residuals(data, fit_figs, x[None, :], x0, width, project)[0]

    def fun(x):
        return simulate_one(x)[1]

    sol = least_squares(fun, np.clip(x0, lower, upper), bounds=(lower, upper), x_scale=width,
                        diff_step=DIFF_STEP, max_nfev=max_nfev)
    data = simulate_one(sol.x)[0]
    table = residual_table(data.isel(run=0), all_figs)
    return Calibration(
        values=dict(zip(names, map(float, sol.x))),
        bounds={n: (float(lo), float(hi)) for n, lo, hi in zip(names, lower, upper)},
        residuals=table, cost=float(sol.cost), evaluations=int(sol.nfev),
        model_hash=file_hash(project.model), history_hash=file_hash(project.history),
        project=project)


def residual_table(data, figs: list[history.Figure]) -> list[dict]:
    """One row per represented figure: history, model, signed error, tolerance, within."""
    if "run" not in data.dims:
        data = data.expand_dims(run=[0])
    rows = []
    for fig in figs:
        value = float(history.simulated(fig, data).values[0])
        err = float(history.error(fig, value))
        rows.append({"figure": fig.key, "history": fig.value, "model": value, "error": err,
                     "tolerance": fig.tolerance, "absolute": fig.absolute,
                     "comparator": fig.comparator, "derived": fig.derived,
                     "within": bool(abs(err) <= fig.tolerance)})
    return rows


def write(cal: Calibration, path: Path | str | None = None) -> Path:
    """Write the calibration as TOML (atomically; default: the project's calibration file)."""
    doc = {
        "meta": {"model_hash": cal.model_hash, "history_hash": cal.history_hash,
                 "cost": cal.cost, "evaluations": cal.evaluations,
                 "method": "scipy.optimize.least_squares (trf, bounded)",
                 "all_within_tolerance": cal.all_within,
                 "written": _dt.date.today().isoformat(), **versions()},
        "assumptions": assumptions(cal.project),
        "parameters": {n: {"value": v, "lower": cal.bounds[n][0], "upper": cal.bounds[n][1]}
                       for n, v in cal.values.items()},
        "residuals": cal.residuals,
        "not_represented": history.not_represented(cal.project),
    }
    path = cal.project.calibration if path is None else Path(path)
    data = tomli_w.dumps(doc).encode("utf-8")
    return outputs.atomic_write(path, lambda p: p.write_bytes(data), size_hint=len(data))


def load_values(path: Path | str | None = None,
                project: Project | None = None) -> dict[str, float]:
    """Calibrated parameter values from a calibration file (default: the project's),
    checked against the project's model."""
    project = find() if project is None else project
    path = project.calibration if path is None else Path(path)
    doc = tomlfile.read(path, "calibration file not found", "run `plansim calibrate`",
                        "run `plansim calibrate` to rewrite it")
    known = model.parameters(project)
    fix = "run `plansim calibrate` to refit the current model"
    entries = validate.table(path, "parameters", doc.get("parameters", {}), fix)
    if not entries:
        raise InputError(path, "parameters", "no calibrated parameters", fix)
    values = {}
    for name, entry in entries.items():
        key = f"parameters.{name}"
        if name not in known:
            raise InputError(path, key, "not a parameter of the model", fix)
        entry = validate.table(path, key, entry, f'write [{key}] with value = ...')
        if "value" not in entry:
            raise InputError(path, f"{key}.value", "missing", f"write value = ... or {fix}")
        values[name] = validate.parameter_value(path, f"{key}.value", name, entry["value"],
                                                known, (*model.ROLES, "fixed"))
    return values
