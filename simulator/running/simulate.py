"""Runs of a project's model: parameter values in, indicators over ``(run, time)`` out.

This module owns the step "runs" of the pipeline: it runs the project's translated
model (:func:`simulator.inputs.model.vector_model`, one per model file and process)
and turns model output into the project's indicator vocabulary. Callers give every value that
differs from the model file's defaults (calibration, scenario, samples: see
:func:`simulator.running.ensemble.parameters`).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import xarray as xr

from ..errors import InputError
from ..inputs import indicators, model
from ..inputs.model import vector_model
from ..inputs.project import Project
from . import domain


def _variables(project: Project, names: list[str]) -> list[str]:
    """Model variables of the named indicators, each checked to exist in the model."""
    catalogue = project.indicators
    unknown = indicators.unknown(catalogue, names)
    if unknown:
        raise InputError(project.indicators_file, unknown[0], "not an indicator",
                         f"use one of {', '.join(catalogue)}")
    known = set(vector_model(project).variables)
    for name in names:
        if catalogue[name].variable not in known:
            raise InputError(project.indicators_file, f"indicator.{name}.variable",
                             f"'{catalogue[name].variable}' is not a variable of "
                             f"{project.model.name}", "name an auxiliary or stock of the model")
    return indicators.model_variables(catalogue, names)


def _years(project: Project, names: list[str], years) -> list[int]:
    years = model.saved_years(project) if years is None else years
    return sorted(set(years) | indicators.base_years(project.indicators, names))


def run(params: dict | xr.Dataset, names: list[str] | None = None, *, project: Project,
        years=None, seed: int = 0, run_keys=None) -> xr.Dataset:
    """Indicators (all, or ``names``) for the runs ``params`` describe.

    ``params`` maps Vensim parameter names to scalars or 1-D arrays over runs; values
    not given keep the model's defaults (callers apply calibration and scenario
    values first, see :meth:`simulator.inputs.scenario.Scenario.central_parameters`). Output
    years (default: every saved year of the model) always include the base years of
    index indicators. ``in_domain`` ``(run,)`` flags the runs whose model output stayed
    finite (see :mod:`simulator.running.domain`); the indicators of the others hold NaN or inf.

    A model with RANDOM functions draws run ``i``'s noise from the stream ``[seed,
    run_keys[i]]`` (default ``[seed, i]``; see :mod:`simulator.engine.draws`): callers
    give each run's future (:func:`simulator.running.ensemble.noise_keys`), so its noise
    depends on (seed, future) only, whatever the block size, number of workers or
    lever setting.
    """
    names = list(project.indicators) if names is None else names
    years = _years(project, names, years)
    raw = vector_model(project).run(_as_runs(params), _variables(project, names), years=years,
                                    check_finite=False, seed=seed, run_keys=run_keys)
    return from_raw(raw, names, project=project)


def history_run(params: dict, names: list[str], *, project: Project,
                years: list[int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The named indicators at ``years`` only, as arrays ``(run, time)`` by name, and the
    times: what calibration evaluates millions of times. The runs stop at the last of
    ``years`` (the steps before are the same operations, so the values are bit-identical
    to :func:`run`'s; models whose control values change in the run, or that use RANDOM
    functions, run to FINAL TIME), and no dataset is built (:func:`.indicators.from_arrays`
    is :func:`.indicators.from_model_output` on arrays). Non-finite values stay."""
    years = _years(project, names, years)
    vm = vector_model(project)
    until = None if vm.changing_controls or vm.draws_random else float(max(years))
    arrays, times, _, _ = vm.run_arrays(_as_runs(params), _variables(project, names),
                                        years=years, until=until)
    return indicators.from_arrays(arrays, times, project.indicators, names), times


def from_raw(raw: xr.Dataset, names: list[str], *, project: Project) -> xr.Dataset:
    """What :func:`run` returns, from the engine's output ``raw`` (also of branched runs)."""
    out = indicators.from_model_output(raw, project.indicators, names)
    inputs = {k: raw[k] for k in raw.data_vars if raw[k].dims == ("run",)}
    flag = xr.DataArray(domain.in_domain(raw), dims="run", coords={"run": raw["run"]},
                        attrs={"description": "model output finite (inside the model's domain)"})
    return out.assign(inputs).assign(in_domain=flag)


def diagnose(params: dict[str, float], names: list[str] | None = None, *, project: Project,
             years=None, reference: dict[str, float] | None = None) -> domain.Diagnosis | None:
    """Why one parameter set leaves the model's domain (``None`` if it does not).

    ``reference``: central values to put parameters back to (default: the model
    file's values); ranges come from the model file.
    """
    names = list(project.indicators) if names is None else names
    documented = model.parameters(project)
    ref = {k: p.default for k, p in documented.items()}
    ref.update(reference or {})
    spans = {k: p.upper - p.lower for k, p in documented.items()}
    return domain.diagnose(vector_model(project), params, ref, _variables(project, names),
                           _years(project, names, years), spans)


@lru_cache(maxsize=4)
def _scalar_model(mdl_path: str, cache_dir: str):
    """Plain PySD model (float arithmetic): fastest for one run at a time."""
    import pysd

    from ..engine import translate_reference

    return pysd.load(str(translate_reference(mdl_path, cache_dir)))


def run_one(params: dict[str, float], names: list[str] | None = None, *, project: Project,
            years=None, seed: int = 0) -> xr.Dataset:
    """Indicators of one run with plain PySD, as a ``run``-length-1 dataset.

    Equal to :func:`run` for one run (the engine's equality tests guarantee it) but
    without the per-step cost of arrays: what calibration uses. Every parameter and
    the time control are set on every call, so nothing leaks between runs.  RANDOM
    functions draw what :func:`run`'s first run draws (``np.random.seed([seed, 0])``).
    """
    names = list(project.indicators) if names is None else names
    years = _years(project, names, years)
    vm = vector_model(project)
    model = _scalar_model(str(project.model), str(project.cache_dir))
    variables = _variables(project, names)
    control = vm.control
    with warnings.catch_warnings():  # PySD 3.14.3 uses a pandas keyword pandas 3 deprecates
        warnings.filterwarnings("ignore", "The inplace keyword in DataFrame.set_index")
        if vm.draws_random:
            np.random.seed([seed, 0])  # plain PySD draws from numpy's global stream
        frame = model.run(params={**vm.parameters, **{k: float(v) for k, v in params.items()}},
                          return_columns=variables, return_timestamps=years,
                          initial_condition="original", final_time=control.final_time,
                          time_step=control.time_step, saveper=control.saveper)
    raw = xr.Dataset({v: (("run", "time"), frame[v].to_numpy(dtype=float)[None, :])
                      for v in variables}, coords={"run": [0], "time": years})
    return indicators.from_model_output(raw, project.indicators, names)


def _as_runs(params: dict | xr.Dataset) -> dict[str, np.ndarray]:
    """Parameters as 1-D float arrays of one common length."""
    items = params.data_vars.items() if isinstance(params, xr.Dataset) else params.items()
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in items}
    n = max((a.size for a in arrays.values()), default=1)
    return {k: (np.full(n, a[0]) if a.size == 1 else a) for k, a in arrays.items()}
