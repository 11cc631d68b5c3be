"""The committed calibration: ``calibrated.toml`` (summary, point values) and the
ensemble file it names (``calibrated.nc``: accepted sets, weights, provenance).

Runs draw calibration sets from the ensemble by weight (:func:`draw`); the index
of the set each run used travels with the run as the ``calibration_set`` coordinate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError
from ..inputs import model, tomlfile
from ..inputs.project import Project, find
from ..running.provenance import file_hash
from . import priors


@dataclass
class CalibrationSets:
    """Accepted parameter sets, ``values`` ``(set, parameter)``, and their weights per prior."""

    path: Path
    names: list[str]
    values: np.ndarray
    weights: dict[str, np.ndarray]
    file_hash: str
    effective: dict[str, float] | None = None  # prior -> the sampler's ESS of its sets

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def effective_size(self, prior: str = "documented") -> float:
        """Effective number of independent sets under ``prior``: the sampler's ESS, at
        most Kish's size of its weights."""
        kish = priors.effective_size(self.weights[prior])
        return min(kish, (self.effective or {}).get(prior, kish))

    def draw(self, n: int, seed: int, prior: str = "documented") -> np.ndarray:
        """Set index of each of ``n`` runs, drawn by the prior's weights (seeded)."""
        rng = np.random.default_rng([int(seed), 7])  # a stream apart from the futures' sample
        return rng.choice(self.size, size=n, p=self.weights[prior])


def to_dataset(ens, lower, upper, default, attrs: dict) -> xr.Dataset:
    """The ensemble of :func:`simulator.calibrate.match.history_match` as a dataset."""
    ds = xr.Dataset(
        {"value": (("set", "parameter"), ens.values),
         "z": (("set", "figure"), ens.z.astype(np.float32)),
         "lower": ("parameter", lower), "upper": ("parameter", upper),
         "default": ("parameter", default),
         "point": ("parameter", np.array([ens.point[n] for n in ens.names]))},
        coords={"set": np.arange(ens.size), "parameter": ens.names, "figure": ens.figures})
    for p, w in ens.weights.items():
        ds[f"weight_{p}"] = ("set", w)
        ds[f"weight_{p}"].attrs["prior"] = priors.DESCRIPTIONS[p]
    ds["value"].attrs["description"] = "accepted calibration sets"
    ds["z"].attrs["description"] = "signed error of each figure in sd of the error model"
    ds.attrs.update({k: (v if isinstance(v, (int, float, str)) else json.dumps(v))
                     for k, v in attrs.items()})
    return ds


def load(toml_path: Path | str | None = None,
         project: Project | None = None) -> CalibrationSets | None:
    """The ensemble a calibration file (default: the project's) names (None if it names
    none), checked against the project's model."""
    project = find() if project is None else project
    toml_path = project.calibration if toml_path is None else Path(toml_path)
    doc = tomlfile.read(toml_path, "calibration file not found", "run `plansim calibrate`")
    meta = doc.get("meta", {})
    name = meta.get("ensemble_file")
    if not name:
        return None
    path = toml_path.parent / name
    if not path.is_file():
        raise InputError(toml_path, "meta.ensemble_file", f"'{name}' not found",
                         "run `plansim calibrate` to write it")
    digest = file_hash(path)
    if digest != meta.get("ensemble_hash"):
        raise InputError(path, None, "does not match the hash calibrated.toml records",
                         "run `plansim calibrate` to rewrite both")
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    names = [str(n) for n in ds["parameter"].values]
    known = model.parameters(project)
    for n in names:
        if n not in known:
            raise InputError(path, f"parameter.{n}", "not a parameter of the model",
                             "run `plansim calibrate` to refit the current model")
    weights = {p: np.asarray(ds[f"weight_{p}"].values, dtype=float) for p in priors.PRIORS}
    values = np.asarray(ds["value"].values, dtype=float)
    try:
        diag = json.loads(ds.attrs.get("diagnostics", "{}"))
        by = diag.get("effective_sets_by_prior") or {
            "documented": diag.get("effective_sets", values.shape[0])}
        effective = {p: float(v) for p, v in by.items() if p in priors.PRIORS}
    except (ValueError, TypeError, AttributeError):
        effective = {}
    return CalibrationSets(path, names, values, weights, digest, effective)
