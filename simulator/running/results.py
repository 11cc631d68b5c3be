"""Result files: netCDF and JSON written atomically, each recording its provenance.

Every file records the project, the model hash, the scenario (name, path, hash), the
seed and package versions, so a result can be traced and reproduced.
"""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from . import outputs, seal
from .provenance import file_hash, versions


def provenance(scenario=None, seed: int | None = None, project=None, mdl_path=None) -> dict:
    """Attributes naming what produced a result (the scenario's project, or ``project``;
    ``mdl_path``: a model other than the project's, e.g. a test fixture)."""
    project = scenario.project if scenario is not None else project
    model = project.model if mdl_path is None else Path(mdl_path)
    attrs = {"project": project.name, "project_manifest_hash": file_hash(project.manifest),
             "model_file": model.name, "model_hash": file_hash(model),
             "history_hash": file_hash(project.history),
             "indicators_hash": file_hash(project.indicators_file),
             "seed": "none" if seed is None else int(seed), **versions()}
    if scenario is not None:
        attrs.update({"scenario": scenario.name, "scenario_file": scenario.path.name,
                      "goals_selected": scenario.goal_selection or "all",
                      "scenario_hash": file_hash(scenario.path),
                      "goals_hash": file_hash(scenario.goals_path)})
        if scenario.uncertainties_path is not None:
            attrs["uncertainties_hash"] = file_hash(scenario.uncertainties_path)
        if scenario.calibration_path.is_file():
            attrs["calibration_hash"] = file_hash(scenario.calibration_path)
    return attrs


def same_inputs(recorded: dict, expected: dict) -> bool:
    """Whether a result's recorded provenance names the inputs ``expected`` names."""
    return all(str(recorded.get(k)) == str(v) for k, v in expected.items())


def netcdf_attrs(path: Path | str) -> dict:
    """Global attributes of a netCDF file ({} if it is not one)."""
    try:
        import netCDF4

        with netCDF4.Dataset(path) as nc:
            return {k: nc.getncattr(k) for k in nc.ncattrs()}
    except (OSError, RuntimeError, ValueError):
        return {}


def json_object(path: Path | str) -> dict:
    """A JSON file's object ({} if it is not one)."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


def write_netcdf(ds: xr.Dataset, path: Path | str, attrs: dict, compress: bool = False) -> Path:
    """Write a dataset to netCDF with ``attrs`` as global attributes (zlib if ``compress``)."""
    ds = ds.copy()
    ds.attrs.update({k: (v if isinstance(v, (int, float, str)) else json.dumps(v))
                     for k, v in attrs.items()})
    for name in ds.variables:
        if ds[name].dtype == bool:
            ds[name] = ds[name].astype("int8")
            ds[name].attrs["flag"] = "1 = true"
    encoding = {k: {"zlib": True, "complevel": 4} for k in ds.data_vars} if compress else None

    def write(p: Path) -> None:
        ds.to_netcdf(p, engine="netcdf4", encoding=encoding)
        seal.seal_netcdf(p)  # the digest a reader checks (simulator.running.seal)

    return outputs.atomic_write(Path(path), write, size_hint=int(ds.nbytes))


def write_json(obj: dict, path: Path | str, sealed: bool = False) -> Path:
    """Write strict JSON (no NaN or inf) with sorted keys (byte-identical for identical content);
    ``sealed``: with the digest of its content, for a result another command reads back
    (:func:`simulator.running.seal.read_json`)."""
    obj = seal.sealed(obj) if sealed else obj
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    data = text.encode("utf-8")
    return outputs.atomic_write(Path(path), lambda p: p.write_bytes(data), size_hint=len(data))


def write_csv(frame, path: Path | str, float_format: str = "%.6g") -> Path:
    """Write a pandas table as CSV (atomically, with the user's umask)."""
    return outputs.atomic_write(Path(path), lambda p: frame.to_csv(p, float_format=float_format))


def write_text(text: str, path: Path | str) -> Path:
    """Write UTF-8 text (atomically, with the user's umask)."""
    data = text.encode("utf-8")
    return outputs.atomic_write(Path(path), lambda p: p.write_bytes(data), size_hint=len(data))
