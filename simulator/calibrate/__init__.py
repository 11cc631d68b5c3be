"""Calibration: what the project's history tells about the model's ``Calibrated:`` parameters.

``plansim calibrate`` runs four steps, each a module of this package:

1. :mod:`.errors` - the observation-error model: every figure's standard deviation
   (rounding, derived figures, the plan's inconsistent growth rates, model error);
2. :mod:`.identify` - a first least-squares fit of every parameter (:mod:`.point`),
   then the Jacobian's singular values: which combinations the history determines;
3. :mod:`.point` - the point fit of as many parameters as there are determined
   directions (the others stay at their documented defaults): ``--calibration point``;
4. :mod:`.match` - the history-matched ensemble (``emcee``, every parameter over its
   documented range), written to ``calibrated.nc`` with weights per prior
   (:mod:`.priors`); ``calibrated.toml`` is its summary.

Runs draw calibration sets from the ensemble (:mod:`.ensemble`) jointly with the
future uncertainties; ``models/CALIBRATION.md`` explains the method.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w

from ..errors import InputError
from ..inputs import history, model, tomlfile, validate
from ..inputs.project import Project, find
from ..running import outputs
from ..running.provenance import file_hash, versions
from . import errors, identify, match, point, priors
from .ensemble import CalibrationSets
from .ensemble import load as load_sets
from .point import PointFit
from .target import Target

__all__ = ["Calibration", "CalibrationSets", "PointFit", "Target", "calibrate", "load_sets",
           "load_values", "residual_table", "write"]


@dataclass
class Calibration:
    """Identifiability at the full fit, the reduced point fit and the ensemble."""

    target: Target
    full: PointFit
    identifiability: identify.Identifiability
    point: PointFit
    ensemble: match.Ensemble
    model_hash: str
    history_hash: str
    errors_hash: str

    @property
    def all_within(self) -> bool:
        return self.point.all_within

    def report(self) -> str:
        """Identifiability table, point fit and the ensemble's spread per parameter."""
        t, e = self.target, self.ensemble
        spread = e.spread(t.lower, t.upper)
        ess = e.effective_sizes()
        lines = [self.identifiability.report(), "",
                 (f"point fit ({len(self.point.free)} free of {len(t.names)}; cost "
                 f"{self.point.cost:.3g}, {self.point.evaluations} evaluations):"),
                 self.point.table(), "",
                 f"history-matched ensemble: {e.size} accepted sets of "
                 f"{e.diagnostics['chain_sets']} sampled (emcee, {e.diagnostics['walkers']} "
                 f"walkers x {e.diagnostics['steps']} steps, acceptance "
                 f"{e.diagnostics['acceptance_fraction']:.2f}); effective sets per prior: "
                 + ", ".join(f"{p} {v:.0f}" for p, v in ess.items()),
                 f"{'parameter':40s} {'point':>11s} {'5%':>11s} {'95%':>11s} {'90% width':>10s}"]
        w = e.weights["documented"]
        for j, n in enumerate(t.names):
            lo, hi = _weighted_quantiles(e.values[:, j], w, (0.05, 0.95))
            lines.append(f"{n:40s} {self.point.values[n]:>11.4g} {lo:>11.4g} {hi:>11.4g} "
                         f"{100 * spread[j]:>9.0f}%")
        lines.append("(90% width: share of the documented range the history leaves open)")
        return "\n".join(lines)


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs) -> list[float]:
    order = np.argsort(x)
    cdf = np.cumsum(w[order])
    return [float(x[order[min(np.searchsorted(cdf, q), len(x) - 1)]]) for q in qs]


def calibrate(project: Project | None = None, seed: int = 0, max_nfev: int = 200,
              walkers: int = match.WALKERS, steps: int = match.STEPS, burn: int = match.BURN,
              thin: int = match.THIN, progress=None) -> Calibration:
    """Identify, fit and history-match the model's calibrated parameters.

    Runs outside the model's domain (NaN or inf) are expected while searching the
    documented ranges: they never reach the optimisers as NaN (numpy's warnings about
    them are silenced), and a fit that ends outside the domain is one InputError naming
    the model file, where the model leaves its domain and the parameters responsible.
    """
    project = find() if project is None else project
    target = Target.of_model(project)
    with np.errstate(all="ignore"):
        full = point.fit(target, max_nfev=max_nfev)
        x_full = _inside_domain(target, full)
        ident = identify.identify(target, x_full)
        reduced = point.fit(target, free=ident.free, max_nfev=max_nfev)
        x_point = _inside_domain(target, reduced)
        ens = match.history_match(target, x_point, seed=seed, walkers=walkers, steps=steps,
                                  burn=burn, thin=thin, progress=progress)
    return Calibration(target, full, ident, reduced, ens, file_hash(project.model),
                       file_hash(project.history), _errors_hash(project))


def _inside_domain(target: Target, fit: PointFit) -> np.ndarray:
    """The fit's parameter vector, or one InputError if its run leaves the model's domain."""
    x = np.array([fit.values[n] for n in target.names])
    if all(np.isfinite(r["z"]) for r in fit.residuals):
        return x
    from ..running import simulate

    found = simulate.diagnose({**target.fixed, **fit.values},
                              history.indicators_needed(target.figures),
                              project=target.project, years=target.years)
    bad = next(r["figure"] for r in fit.residuals if not np.isfinite(r["z"]))
    where = (found.describe(140) if found
             else f"outside the model's domain: figure {bad} not finite")
    raise InputError(target.project.model, "Calibrated ranges", f"the best fit is {where}",
                     "narrow the documented ranges of the Calibrated parameters to where the "
                     "model stays finite (`plansim params --role calibrated`)")


def _errors_hash(project: Project) -> str:
    """Hash of the observation-error file ("" for a project without one)."""
    return file_hash(project.history_errors) if project.history_errors else ""


def write(cal: Calibration, path: Path | str | None = None) -> tuple[Path, Path]:
    """Write the calibration TOML (default: the project's) and the ensemble ``.nc`` beside
    it (atomically)."""
    from ..running import results
    from .ensemble import to_dataset

    project = cal.target.project
    path = project.calibration if path is None else Path(path)
    nc_path = path.with_suffix(".nc")
    t = cal.target
    attrs = {"model_hash": cal.model_hash, "history_hash": cal.history_hash,
             "errors_hash": cal.errors_hash, "method": "history matching with emcee",
             "diagnostics": cal.ensemble.diagnostics, **versions(),
             "version_emcee": _version("emcee")}
    results.write_netcdf(to_dataset(cal.ensemble, t.lower, t.upper, t.default, {}), nc_path,
                         attrs, compress=True)
    e, ident = cal.ensemble, cal.identifiability.as_dict()
    spread = e.spread(t.lower, t.upper)
    w = e.weights["documented"]
    params = {}
    for j, n in enumerate(t.names):
        lo, med, hi = _weighted_quantiles(e.values[:, j], w, (0.05, 0.5, 0.95))
        params[n] = {"value": cal.point.values[n], "lower": float(t.lower[j]),
                     "upper": float(t.upper[j]), "default": float(t.default[j]),
                     "free_in_point_fit": n in cal.point.free,
                     "identified": ident["parameters"][n]["identified"],
                     "ensemble_p05": lo, "ensemble_median": med, "ensemble_p95": hi,
                     "ensemble_width_share": float(spread[j])}
    doc = {
        "meta": {"model_hash": cal.model_hash, "history_hash": cal.history_hash,
                 "errors_hash": cal.errors_hash, "point_cost": cal.point.cost,
                 "point_evaluations": cal.point.evaluations,
                 "method": "least squares point fit of the identified parameters, then "
                           "emcee history matching of all calibrated parameters",
                 "all_within_cutoff": cal.all_within, "cutoff_sd": history.CUTOFF,
                 "ensemble_file": nc_path.name,
                 "ensemble_hash": file_hash(outputs.current(nc_path)),  # staged until the end
                 "ensemble_sets": e.size,
                 "effective_sets": {p: float(v) for p, v in e.effective_sizes().items()},
                 "written": _dt.date.today().isoformat(), **versions(),
                 "version_emcee": _version("emcee")},
        "ensemble": {k: v for k, v in e.diagnostics.items()},
        "priors": priors.DESCRIPTIONS,
        "assumptions": {f"{t.indicator}.{t.year}": f"{t.value:g} with sd {t.sd:g}: {t.reason}"
                        for t in project.history_settings.soft_targets} | {
                        "prior_pull": f"point fit: each free parameter pulled to its default "
                                      f"with weight {point.PRIOR_WEIGHT} per range width"},
        "identifiability": {"singular_values": ident["singular_values"],
                            "undetermined": ident["undetermined"]},
        "parameters": params,
        "residuals": cal.point.residuals,
        "error_model": errors.notes(project),
        "not_represented": history.not_represented(project),
    }
    data = tomli_w.dumps(json.loads(json.dumps(doc))).encode("utf-8")
    outputs.atomic_write(path, lambda p: p.write_bytes(data), size_hint=len(data))
    return path, nc_path


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_values(path: Path | str | None = None,
                project: Project | None = None) -> dict[str, float]:
    """Point values from a calibration file (default: the project's), checked against the
    project's model."""
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


def residual_table(data, figs: list[history.Figure]) -> list[dict]:
    """One row per figure for the first run of ``data``: history, model, error, sd, z and
    whether it lies within the cutoff."""
    rows = []
    for fig in figs:
        value = float(np.asarray(history.simulated(fig, data).values).ravel()[0])
        err = float(history.error(fig, value))
        rows.append({"figure": fig.key, "history": fig.value, "model": value, "error": err,
                     "sd": fig.sd, "z": err / fig.sd, "comparator": fig.comparator,
                     "derived": fig.derived, "within": abs(err) <= fig.tolerance})
    return rows
