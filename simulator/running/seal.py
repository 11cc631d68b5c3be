"""Stores checked whole: a digest of a result's content, written by the command that
produced it, checked by every command that reads it back, before any work.

A result file a later command reads (``results.nc`` and ``summary.json`` of ``reach``,
``frontier.json``, a sensitivity ``<method>.nc``, the calibration ensemble ``.nc``, a
sweep's ``summary.json``) records the sha256 of its own content under
:data:`KEY`: of every variable (coordinates included: name, dimensions, type, values,
attributes) and every global attribute of a netCDF file as xarray reads it back, or of
every key of a JSON object. A file whose content no longer matches (one flag turned,
one probability moved, a file from an older plansim) is refused in one line naming
it and the command that rewrites it.

The digest detects changes; it is not a signature: whoever may write the folder may
write a consistent file, as they may run plansim there.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import InputError

KEY = "content_sha256"


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _attrs(attrs: dict) -> bytes:
    return json.dumps({str(k): v for k, v in attrs.items() if k != KEY}, sort_keys=True,
                      ensure_ascii=False, default=_plain).encode("utf-8")


def _values(values: np.ndarray) -> bytes:
    if values.dtype.kind in "OUSMm":
        return json.dumps([str(x) for x in values.ravel()], ensure_ascii=False).encode("utf-8")
    return np.ascontiguousarray(values).tobytes()


def dataset_digest(ds) -> str:
    """sha256 of an xarray Dataset's variables (coordinates included) and attributes,
    leaving out :data:`KEY`."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        h.update(json.dumps([name, list(map(str, var.dims)), var.dtype.str, list(var.shape)],
                            ensure_ascii=False).encode("utf-8"))
        h.update(_attrs(var.attrs))
        data = _values(np.asarray(var.values))
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    h.update(b"\x00attrs")
    h.update(_attrs(ds.attrs))
    return h.hexdigest()


def seal_netcdf(path: Path) -> None:
    """Record the digest of the netCDF file ``path`` (as xarray reads it back) in it."""
    import netCDF4
    import xarray as xr

    with xr.open_dataset(path, cache=False) as back:
        digest = dataset_digest(back.load())
    with netCDF4.Dataset(path, "a") as nc:
        nc.setncattr(KEY, digest)


def json_digest(obj: dict) -> str:
    """sha256 of a JSON object's keys and values, leaving out :data:`KEY`."""
    text = json.dumps({k: v for k, v in obj.items() if k != KEY}, sort_keys=True,
                      ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sealed(obj: dict) -> dict:
    """``obj`` with the digest of its content under :data:`KEY`."""
    return {**{k: v for k, v in obj.items() if k != KEY}, KEY: json_digest(obj)}


def unsealed(obj: dict) -> dict:
    """``obj`` without its digest (what the producer meant to write)."""
    return {k: v for k, v in obj.items() if k != KEY}


def _refuse(path, recorded, command: str) -> InputError:
    problem = ("records no digest of its content (altered, or written by an older plansim)"
               if recorded is None else "was altered since it was written (its content "
               "does not match the digest it records)")
    return InputError(path, None, problem, f"rerun `{command}` to write it again")


def check_dataset(ds, path: Path | str, command: str) -> None:
    """Refuse ``ds`` (read from ``path``) unless its content matches its recorded digest;
    ``command`` is what rewrites it (e.g. ``plansim reach``)."""
    recorded = ds.attrs.get(KEY)
    if not isinstance(recorded, str) or recorded != dataset_digest(ds):
        raise _refuse(path, recorded if isinstance(recorded, str) else None, command)


def check_json(obj, path: Path | str, command: str) -> dict:
    """``obj`` (read from ``path``) if it is a JSON object whose content matches its digest."""
    recorded = obj.get(KEY) if isinstance(obj, dict) else None
    if not isinstance(recorded, str):
        raise _refuse(path, None, command)
    try:
        ok = recorded == json_digest(obj)
    except ValueError:  # NaN or inf: never written by plansim
        ok = False
    if not ok:
        raise _refuse(path, recorded, command)
    return obj


def read_json(path: Path | str, command: str) -> dict:
    """A sealed JSON object read from ``path`` and checked (one line if it is not one)."""
    def no_constant(name):
        raise ValueError(name)

    import os
    import stat

    if not stat.S_ISREG(os.lstat(path).st_mode):  # a link, a pipe or a device planted there
        raise InputError(path, None, "is not a regular file (a link, pipe or device)",
                         f"remove it and rerun `{command}`")
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=no_constant)
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(path, None, f"not a readable result ({type(exc).__name__})",
                         f"rerun `{command}` to write it again") from None
    return check_json(obj, path, command)
