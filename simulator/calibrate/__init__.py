"""Calibration: what the 2000-2005 history tells about the model's ``Calibrated:`` parameters.

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

from .. import history, model, tomlfile
from ..errors import InputError
from ..paths import CALIBRATION_FILE, HISTORY_FILE, MODEL_FILE
from ..provenance import file_hash, versions
from . import errors, identify, match, point, priors
from .ensemble import CalibrationSets
from .ensemble import load as load_sets
from .point import PointFit
from .target import ASSUMPTIONS, Target

__all__ = ["Calibration", "CalibrationSets", "PointFit", "Target", "calibrate", "load_sets",
           "load_values", "write"]


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


def calibrate(mdl_path: Path | str = MODEL_FILE, seed: int = 0, max_nfev: int = 200,
              walkers: int = match.WALKERS, steps: int = match.STEPS, burn: int = match.BURN,
              thin: int = match.THIN, progress=None) -> Calibration:
    """Identify, fit and history-match the model's calibrated parameters."""
    target = Target.of_model(mdl_path)
    full = point.fit(target, max_nfev=max_nfev)
    x_full = np.array([full.values[n] for n in target.names])
    ident = identify.identify(target, x_full)
    reduced = point.fit(target, free=ident.free, max_nfev=max_nfev)
    x_point = np.array([reduced.values[n] for n in target.names])
    ens = match.history_match(target, x_point, seed=seed, walkers=walkers, steps=steps,
                              burn=burn, thin=thin, progress=progress)
    return Calibration(target, full, ident, reduced, ens, file_hash(mdl_path),
                       file_hash(HISTORY_FILE), file_hash(errors.ERRORS_FILE))


def write(cal: Calibration, path: Path | str = CALIBRATION_FILE) -> tuple[Path, Path]:
    """Write ``calibrated.toml`` and the ensemble ``calibrated.nc`` beside it (atomically)."""
    from .. import results
    from .ensemble import to_dataset

    path = Path(path)
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
                 "ensemble_file": nc_path.name, "ensemble_hash": file_hash(nc_path),
                 "ensemble_sets": e.size,
                 "effective_sets": {p: float(v) for p, v in e.effective_sizes().items()},
                 "written": _dt.date.today().isoformat(), **versions(),
                 "version_emcee": _version("emcee")},
        "ensemble": {k: v for k, v in e.diagnostics.items()},
        "priors": priors.DESCRIPTIONS,
        "assumptions": {f.key: f"{f.value:g} with sd {f.sd:g} (the plan gives no employment "
                        "figures)" for f in ASSUMPTIONS} | {
                        "prior_pull": f"point fit: each free parameter pulled to its default "
                                      f"with weight {point.PRIOR_WEIGHT} per range width"},
        "identifiability": {"singular_values": ident["singular_values"],
                            "undetermined": ident["undetermined"]},
        "parameters": params,
        "residuals": cal.point.residuals,
        "error_model": errors.notes(),
        "not_represented": history.not_represented(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(tomli_w.dumps(json.loads(json.dumps(doc))).encode("utf-8"))
    tmp.replace(path)
    return path, nc_path


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_values(path: Path | str = CALIBRATION_FILE,
                mdl_path: Path | str = MODEL_FILE) -> dict[str, float]:
    """Point values from ``calibrated.toml`` (checked against the model)."""
    path = Path(path)
    doc = tomlfile.read(path, "calibration file not found", "run `plansim calibrate`",
                        "run `plansim calibrate` to rewrite it")
    known = model.parameters(mdl_path)
    values = {}
    for name, entry in doc.get("parameters", {}).items():
        if name not in known:
            raise InputError(path, f"parameters.{name}", "not a parameter of the model",
                             "run `plansim calibrate` to refit the current model")
        values[name] = float(entry["value"])
    return values
