"""Plain PySD, one run: the reference the vectorised engine must reproduce."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pysd
import xarray as xr

from .control import RUN, TIME, _Control, _dataset_of, _match_times, _Names, changing_controls
from .translate import model_hash, translate_reference


def reference_values(column: pd.Series) -> np.ndarray:
    """A column of plain PySD's output as float64.

    Complex values (Python's ``**`` of a negative base) become NaN, as numpy's
    power gives in the vectorised engine.
    """
    values = column.to_numpy()
    if values.dtype.kind in "cO":
        values = np.array([complex(v) for v in values])
        values = np.where(values.imag == 0, values.real, np.nan)
    return np.asarray(values, dtype=np.float64)


def run_single(mdl_path: str | os.PathLike, params: Mapping[str, Any], outputs: Sequence[str],
               years: Iterable[float] | None = None, *,
               cache_dir: str | os.PathLike | None = None,
               random_seed: Any = None) -> xr.Dataset:
    """One run with plain PySD: the reference the vectorised engine must reproduce.

    The model is translated exactly as ``pysd.read_vensim`` does (no patches) into
    its own cache file, loaded fresh with ``pysd.load`` and run with
    ``model.run(params=...)``.  NaN/inf are returned, not raised.  Dims (run=1, time).
    ``random_seed`` (e.g. ``[seed, i]``): ``np.random.seed(random_seed)`` right before
    the run, the stream the engine's run ``i`` of an ensemble seeded ``seed`` draws from.
    """
    mdl = Path(mdl_path).resolve()
    model = pysd.load(str(translate_reference(mdl, cache_dir)))
    names = _Names(model.doc)
    reals = {}
    for name, value in params.items():
        real = names.real(name, "parameter")
        default = getattr(model.components, names.py_of_real[real])()
        subscripts = ({dim: list(default.coords[dim].values) for dim in default.dims}
                      if isinstance(default, xr.DataArray) else {})
        reals[real] = (xr.DataArray(np.asarray(value, dtype=np.float64), coords=subscripts,
                                    dims=list(subscripts)) if subscripts else float(value))
    model.set_components(reals)  # first, so that constants setting a control value count
    control = _Control.of(model)
    out_names = [names.real(name, "output") for name in outputs]
    changing = changing_controls(model._dependencies)
    # control values changing in the run: PySD's clock decides the grid (given years
    # must be steps it takes; default: the steps it saves)
    times = control.years(years) if not changing or years is None else np.unique(
        np.ravel(np.asarray([years] if np.isscalar(years) else list(years), dtype=np.float64)))
    columns = [real for real in out_names if names.py_of_real[real] != "time"]
    if random_seed is not None:
        np.random.seed(random_seed)  # plain PySD draws from numpy's global stream
    stamps = None if changing and years is None else list(times)
    frame = model.run(params=reals, return_columns=columns, return_timestamps=stamps,
                      final_time=model.components._control_vars["final_time"],
                      flatten_output=False)
    # (the model's own FINAL TIME; PySD cannot return Time as a column)
    if stamps is None:
        times = frame.index.to_numpy(np.float64)
    index = _match_times(list(frame.index), times, control.time_step)
    variables = {}
    for real in out_names:
        subscripts = _subscripts(model, names.py_of_real[real])
        if real not in columns:
            values = frame.index.to_numpy(np.float64)
        elif subscripts:
            values = np.stack([_subscripted_values(cell, subscripts) for cell in frame[real]])
        else:
            values = reference_values(frame[real])
        variables[real] = ((RUN, TIME, *subscripts), values[index][None], subscripts)
    for real, value in reals.items():
        if real not in variables:
            subscripts = ({dim: list(value.coords[dim].values) for dim in value.dims}
                          if isinstance(value, xr.DataArray) else {})
            variables[real] = ((RUN, *subscripts), np.asarray(value, dtype=np.float64)[None],
                               subscripts)
    return _dataset_of(variables, {RUN: [0], TIME: times},
                       {"model": mdl.name, "model_sha256": model_hash(mdl),
                        "pysd_version": pysd.__version__})


def _subscripts(model: Any, py: str) -> dict[str, list]:
    coords = None if py == "time" else model.get_coords(py)
    return {} if not coords else {dim: list(coords[0][dim]) for dim in coords[1]}


def _subscripted_values(cell: Any, subscripts: dict[str, list]) -> np.ndarray:
    """One saved subscripted value of plain PySD, in the variable's subscript order."""
    if isinstance(cell, xr.DataArray):
        if any(cell.sizes.get(dim) != len(v) for dim, v in subscripts.items()):
            cell = cell.reindex(subscripts)  # defined on a subrange only: NaN elsewhere
        return np.asarray(cell.transpose(*subscripts).values, dtype=np.float64)
    shape = tuple(len(v) for v in subscripts.values())
    return np.full(shape, cell, dtype=np.float64)
