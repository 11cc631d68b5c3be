"""Runs of the district model: parameter values in, indicators over ``(run, time)`` out.

This module owns the step "runs" of the pipeline. It keeps one translated
:class:`~simulator.engine.VectorModel` per model file and process and turns model
output into the indicator vocabulary. Callers give every value that differs from
the model file's defaults (calibration, scenario, samples: see
:func:`simulator.ensemble.parameters`).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

from . import domain, indicators
from .engine import VectorModel
from .paths import MODEL_FILE

YEARS = tuple(range(2000, 2016))


@lru_cache(maxsize=4)
def vector_model(mdl_path: str = str(MODEL_FILE)) -> VectorModel:
    """The translated model, loaded once per process."""
    return VectorModel(mdl_path)


def run(params: dict | xr.Dataset, names: list[str] | None = None, *,
        mdl_path: Path | str = MODEL_FILE, years=YEARS) -> xr.Dataset:
    """Indicators (all, or ``names``) for the runs ``params`` describe.

    ``params`` maps Vensim parameter names to scalars or 1-D arrays over runs; values
    not given keep the model's defaults (callers apply calibration and scenario
    values first, see :meth:`simulator.scenario.Scenario.central_parameters`). Output years
    always include 2005, the base of index indicators. ``in_domain`` ``(run,)`` flags
    the runs whose model output stayed finite (see :mod:`simulator.domain`); the
    indicators of the others hold NaN or inf.
    """
    names = list(indicators.INDICATORS) if names is None else names
    years = sorted(set(years) | {indicators.BASE_YEAR})
    vm = vector_model(str(Path(mdl_path).resolve()))
    raw = vm.run(_as_runs(params), indicators.model_variables(names), years=years,
                 check_finite=False)
    out = indicators.from_model_output(raw, names)
    inputs = {k: raw[k] for k in raw.data_vars if raw[k].dims == ("run",)}
    flag = xr.DataArray(domain.in_domain(raw), dims="run", coords={"run": raw["run"]},
                        attrs={"description": "model output finite (inside the model's domain)"})
    return out.assign(inputs).assign(in_domain=flag)


def diagnose(params: dict[str, float], names: list[str] | None = None, *,
             mdl_path: Path | str = MODEL_FILE, years=YEARS,
             reference: dict[str, float] | None = None) -> domain.Diagnosis | None:
    """Why one parameter set leaves the model's domain (``None`` if it does not).

    ``reference``: central values to put parameters back to (default: the model
    file's values); ranges come from the model file.
    """
    from . import model

    names = list(indicators.INDICATORS) if names is None else names
    vm = vector_model(str(Path(mdl_path).resolve()))
    documented = model.parameters(mdl_path)
    ref = {k: p.default for k, p in documented.items()}
    ref.update(reference or {})
    spans = {k: p.upper - p.lower for k, p in documented.items()}
    return domain.diagnose(vm, params, ref, indicators.model_variables(names),
                           sorted(set(years) | {indicators.BASE_YEAR}), spans)


@lru_cache(maxsize=4)
def _scalar_model(mdl_path: str):
    """Plain PySD model (float arithmetic): fastest for one run at a time."""
    import pysd

    from .engine import translate_reference

    return pysd.load(str(translate_reference(mdl_path)))


def run_one(params: dict[str, float], names: list[str] | None = None, *,
            mdl_path: Path | str = MODEL_FILE, years=YEARS) -> xr.Dataset:
    """Indicators of one run with plain PySD, as a ``run``-length-1 dataset.

    Equal to :func:`run` for one run (the engine's equality tests guarantee it) but
    without the per-step cost of arrays: what calibration uses. Every parameter and
    the time control are set on every call, so nothing leaks between runs.
    """
    names = list(indicators.INDICATORS) if names is None else names
    years = sorted(set(years) | {indicators.BASE_YEAR})
    path = str(Path(mdl_path).resolve())
    vm = vector_model(path)
    model = _scalar_model(path)
    variables = indicators.model_variables(names)
    control = vm.control
    with warnings.catch_warnings():  # PySD 3.14.3 uses a pandas keyword pandas 3 deprecates
        warnings.filterwarnings("ignore", "The inplace keyword in DataFrame.set_index")
        frame = model.run(params={**vm.parameters, **{k: float(v) for k, v in params.items()}},
                          return_columns=variables, return_timestamps=years,
                          initial_condition="original", final_time=control.final_time,
                          time_step=control.time_step, saveper=control.saveper)
    raw = xr.Dataset({v: (("run", "time"), frame[v].to_numpy(dtype=float)[None, :])
                      for v in variables}, coords={"run": [0], "time": years})
    return indicators.from_model_output(raw, names)


def _as_runs(params: dict | xr.Dataset) -> dict[str, np.ndarray]:
    """Parameters as 1-D float arrays of one common length."""
    items = params.data_vars.items() if isinstance(params, xr.Dataset) else params.items()
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in items}
    n = max((a.size for a in arrays.values()), default=1)
    return {k: (np.full(n, a[0]) if a.size == 1 else a) for k, a in arrays.items()}
