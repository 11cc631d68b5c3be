"""Plain PySD, one run: the reference the vectorised engine must reproduce."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pysd
import xarray as xr

from .control import RUN, TIME, _Control, _match_times, _Names
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


def run_single(mdl_path: str | os.PathLike, params: Mapping[str, float], outputs: Sequence[str],
               years: Iterable[float] | None = None, *,
               cache_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """One run with plain PySD: the reference the vectorised engine must reproduce.

    The model is translated exactly as ``pysd.read_vensim`` does (no patches) into
    its own cache file, loaded fresh with ``pysd.load`` and run with
    ``model.run(params=...)``.  NaN/inf are returned, not raised.  Dims (run=1, time).
    """
    mdl = Path(mdl_path).resolve()
    model = pysd.load(str(translate_reference(mdl, cache_dir)))
    names = _Names(model.doc)
    reals = {names.real(k, "parameter"): float(v) for k, v in params.items()}
    model.set_components(reals)  # first, so that constants setting a control value count
    control = _Control.of(model)
    out_names = [names.real(name, "output") for name in outputs]
    times = control.years(years)
    columns = [real for real in out_names if names.py_of_real[real] != "time"]
    frame = model.run(params=reals, return_columns=columns, return_timestamps=list(times),
                      final_time=model.components._control_vars["final_time"])
    # (the model's own FINAL TIME; PySD cannot return Time as a column)
    index = _match_times(list(frame.index), times, control.time_step)
    data = {real: ((RUN, TIME), (reference_values(frame[real]) if real in columns
                                 else frame.index.to_numpy(np.float64))[index][None, :])
            for real in out_names}
    data.update({real: ((RUN,), np.array([value])) for real, value in reals.items()
                 if real not in data})
    return xr.Dataset(data, coords={RUN: [0], TIME: times},
                      attrs={"model": mdl.name, "model_sha256": model_hash(mdl),
                             "pysd_version": pysd.__version__})
