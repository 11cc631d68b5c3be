"""Calibration: what the project's history tells about every parameter acting before 2006.

``plansim calibrate`` runs these steps, each a module of this package:

1. :mod:`.space` - the history space: the ``Calibrated:`` parameters and every
   ``Uncertain:`` one that moves a history figure (measured on the model);
2. :mod:`.errors` - the observation-error model: every figure's standard deviation
   (rounding, derived figures, the plan's inconsistent growth rates, a floor of model
   error); :mod:`.discrepancy` - the model discrepancy per figure family, estimated
   at the best joint fit (:mod:`.point`);
3. :mod:`.identify` - the Jacobian's singular values: which combinations the history
   determines; :mod:`.point` - the point fit of as many parameters as there are
   determined directions (the others at their defaults): ``--calibration point``;
4. :mod:`.match` / :mod:`.waves` / :mod:`.mixing` - history matching in waves down to
   the cut-off, then each prior's chains sampling the non-implausible space with their
   convergence measured, written to ``calibrated.nc`` with weights per prior
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
from . import discrepancy, errors, identify, match, mixing, point, priors, space, waves
from .ensemble import CalibrationSets
from .ensemble import load as load_sets
from .point import PointFit
from .report import bounds_report, discrepancy_report, residual_report, space_report, waves_report
from .target import Target

METHOD = ("history space classified on the model; discrepancy per figure family estimated at "
          "the best joint fit; least squares point fit of the identified parameters; history "
          "matching in waves (sequential Monte Carlo, differential-evolution moves) down to "
          "the cut-off, then Metropolis chains per prior (DE-MCz) sampling the "
          "non-implausible space, run until their convergence is measured")

CLASSIFY_ROUNDS = 3  # fit, classify at the fit, refit until the history space is stable

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
    discrepancy: dict = None  # family -> estimated size (relative for levels, points else)
    classes: dict = None  # parameter -> space.Classified

    @property
    def all_within(self) -> bool:
        return self.point.all_within

    def report(self) -> str:
        """History space, discrepancy, identifiability, point fit, the waves and their
        convergence, the residual table, bound hits and each parameter's spread."""
        t, e = self.target, self.ensemble
        spread = e.spread(t.lower, t.upper)
        d = e.diagnostics
        lines = [space_report(self.classes), "", discrepancy_report(self.discrepancy), "",
                 self.identifiability.report(), "",
                 (f"point fit ({len(self.point.free)} free of {len(t.names)}; cost "
                 f"{self.point.cost:.3g}, {self.point.evaluations} evaluations):"),
                 self.point.table(), "", waves_report(d, e), "",
                 residual_report(e.residuals(t)), "", bounds_report(e.bound_hits(t)), "",
                 f"{'parameter':40s} {'point':>11s} {'5%':>11s} {'95%':>11s} {'90% width':>10s}"]
        w = e.weights["documented"]
        for j, n in enumerate(t.names):
            lo, hi = _weighted_quantiles(e.values[:, j], w, (0.05, 0.95))
            lines.append(f"{n:40s} {self.point.values[n]:>11.4g} {lo:>11.4g} {hi:>11.4g} "
                         f"{100 * spread[j]:>9.0f}%")
        lines.append("(90% width: share of the documented range the history leaves open)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """What ``calibrate --report --json`` prints: every diagnostic of the report."""
        t, e = self.target, self.ensemble
        return {"history_space": {n: {"role": c.role, "class": c.cls, "effect_sd": c.effect}
                                  for n, c in sorted(self.classes.items())
                                  if c.role in model.ROLES},
                "discrepancy": self.discrepancy,
                "identifiability": self.identifiability.as_dict(),
                "point_fit": {"free": self.point.free, "cost": self.point.cost,
                              "residuals": self.point.residuals},
                "ensemble": {"sets": e.size,
                             "effective_sets": {p: float(v)
                                                for p, v in e.effective_sizes().items()},
                             "diagnostics": e.diagnostics},
                "residuals": e.residuals(t), "bound_hits": e.bound_hits(t)}


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs) -> list[float]:
    order = np.argsort(x)
    cdf = np.cumsum(w[order])
    return [float(x[order[min(np.searchsorted(cdf, q), len(x) - 1)]]) for q in qs]


def calibrate(project: Project | None = None, seed: int = 0, max_nfev: int = 200,
              particles: int = match.PARTICLES, max_steps: int = mixing.MAX_STEPS,
              progress=None, quick: bool = False, workers: int | None = None) -> Calibration:
    """Classify, estimate the discrepancy, identify, fit and history-match the history space.

    Runs outside the model's domain (NaN or inf) are expected while searching the
    documented ranges: they never reach the optimisers as NaN (numpy's warnings about
    them are silenced), and a fit that ends outside the domain is one InputError naming
    the model file, where the model leaves its domain and the parameters responsible.

    ``workers``: processes for the priors' chains (default: one per prior, at most the
    machine's cores); the result is the same to the last bit whatever the number.
    """
    project = find() if project is None else project
    workers = default_workers() if workers is None else int(workers)
    settings = {"keep": waves.KEEP, "max_moves": waves.MAX_MOVES}
    if quick:  # a rough, fast calibration for tests: fewer sets, faster waves, short fits
        settings = {k: v for k, v in match.QUICK.items() if k not in ("particles", "max_steps")}
        particles, max_steps = match.QUICK["particles"], match.QUICK["max_steps"]
        max_nfev = min(max_nfev, 20)
    classes = space.classify(project)
    names = sorted(n for n, c in classes.items() if c.cls == "history")
    with np.errstate(all="ignore"):
        for _ in range(CLASSIFY_ROUNDS):
            sizes, target, full = estimate_discrepancy(project, names, max_nfev)
            x_full = _inside_domain(target, full)
            # a cap may bind at one point and not at another: classify again at this fit
            # (as readers of the calibration will: at the defaults and the committed point)
            classes = space.classify(project, point={**full.values})
            again = sorted(n for n, c in classes.items() if c.cls == "history")
            if again == names:
                break
            names = again
        else:
            raise InputError(project.model, "history space", "the history space does not "
                             f"settle in {CLASSIFY_ROUNDS} rounds of fit and classification",
                             "see `plansim params` for the parameters that move between "
                             "classes and document their ranges")
        ident = identify.identify(target, x_full)
        # the point is the joint fit of the whole history space: its weak pull to the
        # defaults settles the undetermined directions (fixing all but the determined
        # parameters at their defaults, as v1 did, leaves 53 of 69 fixed and real GDP
        # growth 4 sd off)
        reduced, x_point = full, x_full
        ens = match.history_match(target, x_point, seed=seed, particles=particles,
                                  max_steps=max_steps, progress=progress, workers=workers,
                                  **settings)
    return Calibration(target, full, ident, reduced, ens, file_hash(project.model),
                       file_hash(project.history), _errors_hash(project), sizes, classes)


def default_workers() -> int:
    """Processes for the mixing phase: one per prior, at most the cores this process may
    use."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(len(priors.PRIORS), cores or 1))


def estimate_discrepancy(project: Project, names: list[str],
                         max_nfev: int) -> tuple[dict[str, float], Target, PointFit]:
    """Each family's discrepancy (:mod:`.discrepancy`), the target that carries it and the
    best joint fit under it: fit, estimate, refit from there until the sizes settle (within
    5%) or ``ITERATIONS`` fits."""
    base = Target.of_model(project, names=names, discrepancy={})
    n_hist = base.n_history
    fams = discrepancy.families(project, base.figures[:n_hist])
    sizes: dict[str, float] = {}
    target, x = base, None
    for _ in range(discrepancy.ITERATIONS):
        fit = point.fit(target, start=x, max_nfev=max_nfev)
        x = _inside_domain(target, fit)
        errs = np.array([r["error"] for r in fit.residuals[:n_hist]])
        new = discrepancy.sizes_from_fit(base.figures[:n_hist], fams, errs)
        settled = all(abs(new[f] - sizes.get(f, -1.0)) <= 0.05 * max(new[f], 1e-9)
                      for f in new)
        if settled:
            break
        sizes = new
        target = Target.of_model(project, names=names, discrepancy=sizes)
    else:
        fit = point.fit(target, start=x, max_nfev=max_nfev)
    return sizes, target, fit


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
             "errors_hash": cal.errors_hash, "method": METHOD,
             "diagnostics": cal.ensemble.diagnostics, "discrepancy": cal.discrepancy,
             **versions()}
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
                     "role": cal.classes[n].role if cal.classes else "calibrated",
                     "history_effect_sd": cal.classes[n].effect if cal.classes else 0.0,
                     "free_in_point_fit": n in cal.point.free,
                     "identified": ident["parameters"][n]["identified"],
                     "ensemble_p05": lo, "ensemble_median": med, "ensemble_p95": hi,
                     "ensemble_width_share": float(spread[j])}
    doc = {
        "meta": {"model_hash": cal.model_hash, "history_hash": cal.history_hash,
                 "errors_hash": cal.errors_hash, "point_cost": cal.point.cost,
                 "point_evaluations": cal.point.evaluations,
                 "method": METHOD,
                 "all_within_cutoff": cal.all_within, "cutoff_sd": history.CUTOFF,
                 "ensemble_file": nc_path.name,
                 "ensemble_hash": file_hash(outputs.current(nc_path)),  # staged until the end
                 "ensemble_sets": e.size,
                 "effective_sets": {p: float(v) for p, v in e.effective_sizes().items()},
                 "written": _dt.date.today().isoformat(), **versions()},
        "ensemble": {k: v for k, v in e.diagnostics.items() if k != "per_parameter"},
        "discrepancy": dict(cal.discrepancy or {}),
        "history_space": {n: c.effect for n, c in sorted((cal.classes or {}).items())
                          if c.cls == "history"},
        "future_uncertain": sorted(n for n, c in (cal.classes or {}).items()
                                   if c.cls == "future"),
        "priors": priors.DESCRIPTIONS,
        "assumptions": {f"{t.indicator}.{t.year}": f"{t.value:g} with sd {t.sd:g}: {t.reason}"
                        for t in project.history_settings.soft_targets} | {
                        "prior_pull": f"point fit: each free parameter pulled to its default "
                                      f"with weight {point.PRIOR_WEIGHT} per range width"},
        "identifiability": {"singular_values": ident["singular_values"],
                            "undetermined": ident["undetermined"]},
        "parameters": params,
        "residuals": cal.point.residuals,
        "ensemble_residuals": e.residuals(t),
        "bound_hits": e.bound_hits(t),
        "error_model": errors.notes(project),
        "not_represented": history.not_represented(project),
    }
    data = tomli_w.dumps(json.loads(json.dumps(doc))).encode("utf-8")
    outputs.atomic_write(path, lambda p: p.write_bytes(data), size_hint=len(data))
    return path, nc_path


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
