"""VectorModel: N runs of a Vensim model in one PySD integration."""

from __future__ import annotations

import ast
import contextlib
import functools
import math
import os
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pysd
import xarray as xr
from pysd.py_backend.components import Time
from pysd.py_backend.external import ExtLookup
from pysd.py_backend.model import Macro

from .constructs import _raise_if_unsupported, _source_issues
from .control import (
    RUN,
    TIME,
    _Control,
    _dataset_of,
    _match_times,
    _Names,
    _OneClock,
    changing_controls,
    reached,
)
from .draws import _RANDOM_DRAW_NAME, _RANDOM_RVS_NAME, DEFAULT_SEED, RunStreams
from .errors import (
    _CONTROL_PY,
    _LOOKUP_INTERPOLATIONS,
    CONTROL_NAMES,
    EngineError,
    NonFiniteError,
    UnsupportedConstruct,
)
from .functions import _ARRAY_FUNCTIONS, _power
from .hoist import hoist
from .lookups import _RUN_LOOKUP_CLASSES
from .output import _handler_file, _subscripts
from .overhead import set_up_once
from .parameters import _GivenParameters
from .prefill import Prefill
from .runs import (
    _ASSIGN_LOC_NAME,
    _ASSIGN_MASK_NAME,
    _DATA_ARRAY_NAME,
    _POWER_NAME,
    _REAL_NAME,
    _SUBSCRIPTS_ONLY_NAME,
    _as_real,
    _assign_loc,
    _assign_mask,
    _returning_run_last,
    _run_data_array,
    _subscripts_only,
)
from .statefuls import (
    _BROADCAST_ATTRS,
    _RUN_CLASSES,
    _UNIFORM_ATTRS,
    _Broadcast,
    _euler_step,
    _RunCount,
    _Uniform,
    plain_packing_issue,
)
from .stepping import (
    EulerStep,
    RunTime,
    add_constant_cache,
    remove_constant_cache,
    use_step_cache,
)
from .translate import model_hash, translate
from .vectors import VECTOR_FUNCTIONS


class VectorModel(_GivenParameters):
    """A Vensim model translated once and run as ensembles over a ``run`` dimension.

    One instance holds one PySD model; its runs are serialised by a lock (use one
    instance per thread or process for parallel ensembles).
    """

    def __init__(self, mdl_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None):
        self.mdl_path = Path(mdl_path).resolve()
        self.py_path = translate(self.mdl_path, cache_dir)
        _raise_if_unsupported(self.py_path,
                              _source_issues(self.py_path.read_text(encoding="utf-8")))
        self.model_sha256 = model_hash(self.mdl_path)
        self._model = pysd.load(str(self.py_path), initialize=False)
        self._names = _Names(self._model.doc)
        self._runs = _RunCount()
        self._streams = RunStreams()
        self._lock = threading.Lock()
        self._no_dependencies: dict[str, dict] = {}
        source = self.py_path.read_text(encoding="utf-8")
        self.draws_random = f"{_RANDOM_DRAW_NAME}(" in source or f"{_RANDOM_RVS_NAME}(" in source
        """The model uses RANDOM functions (each run draws from its own stream)."""
        self._make_array_safe(source)
        self._one_clock()
        self.changing_controls = changing_controls(self._model._dependencies)
        """Control values that change during the run (default years: PySD's saved steps)."""
        self._streams.reset(DEFAULT_SEED, 1, self._runs.named)  # the first initialisation
        with self._named_failures():
            self._model.initialize()  # a first, one-run initialisation: control, defaults
        packing = plain_packing_issue(self._model, self._stateful_owners())
        if packing is not None:  # plain PySD raises at its first step: nothing to check
            raise UnsupportedConstruct(self.mdl_path, [packing])
        self.control = _Control.of(self._model)
        self._constants = self._constant_names()
        self.control_inputs = self._control_inputs_of()
        # (a subscripted constant assembled element by element has the one-run
        # initialisation's run dimension: dropped, its default is one value per element)
        self._defaults = {real: _subscripts_only(getattr(self._model.components, py)())
                          for real, py in self._constants.items()}
        self._subscripted = {real for real, value in self._defaults.items()
                             if isinstance(value, xr.DataArray) and value.dims}
        self.parameters: dict[str, float] = {k: float(v) for k, v in self._defaults.items()
                                             if k not in self._subscripted}
        self.subscripted_parameters: dict[str, xr.DataArray] = {
            k: self._defaults[k] for k in sorted(self._subscripted)}
        """Subscripted constants and their defaults; per-run values are ``(runs, *subs)``."""
        self.limits: dict[str, tuple[float, float]] = {
            real: self._limits(real) for real in self._constants}

    # -- description

    @property
    def doc(self) -> pd.DataFrame:
        """PySD's documentation table (Real Name, Py Name, Units, Limits, Type, ...)."""
        return self._model.doc

    @property
    def variables(self) -> list[str]:
        """Real names of the auxiliaries and stocks (no constants, lookups, control)."""
        doc = self.doc
        keep = doc["Type"].isin(["Auxiliary", "Stateful"]) & ~doc["Real Name"].isin(CONTROL_NAMES)
        return [name for name in doc.loc[keep, "Real Name"]
                if not self._model.get_args(self._names.py_of_real[name])]

    @property
    def default_years(self) -> np.ndarray:
        """Every SAVEPER step from INITIAL TIME to FINAL TIME."""
        return self.control.default_years()

    def _constant_names(self) -> dict[str, str]:
        doc = self.doc
        rows = doc[(doc["Type"] == "Constant") & ~doc["Py Name"].isin(_CONTROL_PY)]
        return dict(zip(rows["Real Name"], rows["Py Name"]))

    def _limits(self, real: str) -> tuple[float, float]:
        """(min, max) of the units field ``[min,max(,step)]``; nan for ``?`` or absent."""
        limits = self.doc.loc[self.doc["Real Name"] == real, "Limits"].iloc[0]
        values = [math.nan if v is None else float(v)
                  for v in (limits if isinstance(limits, tuple) else ())][:2]
        values += [math.nan] * (2 - len(values))
        return values[0], values[1]

    def _control_inputs_of(self) -> dict[str, list[str]]:
        """Constants the control values depend on -> the control names they set.

        A control value must be one number for the whole ensemble (PySD has one
        clock): the constants setting it take one value per ensemble.  A control
        value that changes during the run (through Time or a stock) is evaluated by
        PySD's clock as in a single run and refused by name where it differs across
        runs (:class:`~.control._OneClock`).
        """
        dependencies = self._model._dependencies
        py_constants = {py: real for real, py in self._constants.items()}
        inputs: dict[str, list[str]] = {}
        for control, control_py in zip(CONTROL_NAMES, _CONTROL_PY):
            for name in reached(dependencies, control_py):
                if name in py_constants:
                    inputs.setdefault(py_constants[name], []).append(control)
        return inputs

    def _one_clock(self) -> None:
        """Every control value PySD's clock evaluates must be one value (see _OneClock)."""
        control_vars = self._model.components._control_vars
        for control, key in zip(CONTROL_NAMES, _CONTROL_PY):
            if not isinstance(control_vars[key], _OneClock):
                control_vars[key] = _OneClock(control_vars[key], control)
        self._model.time._set_control_vars(**control_vars)

    # -- making the loaded model array-safe

    def _make_array_safe(self, source: str) -> None:
        module = self._model.components._components
        self._runs.named = bool(getattr(module, "_subscript_dict", None))
        tree = None
        if not self._runs.named:  # runs as numpy arrays: constant parts of steps once a run
            tree = hoist(self._model, source, self.py_path, self.mdl_path)
        self._make_model_array_safe(self._model, self._stateful_owners())
        self._step = EulerStep(self._model, in_place=True, nested=_euler_step)
        self._model._euler_step = self._step
        if isinstance(tree, ast.Module) and self._step.flat and not self.draws_random:
            step = {name for name, kind in self._model.cache_type.items() if kind == "step"}
            self._step.prefill = self._model._plansim_prefill = Prefill(
                module, tree, step, self.py_path, self.mdl_path)
        self._model._add_constant_cache = lambda: add_constant_cache(self._model)
        self._model._remove_constant_cache = functools.partial(
            remove_constant_cache, self._model, self._model._remove_constant_cache)
        if type(self._model.time) is Time:
            self._model.time.__class__ = RunTime
        set_up_once(self._model)  # PySD's per-call counts and name scans, once

    def _make_model_array_safe(self, model: Any, owners: Mapping[str, str]) -> None:
        """Array versions into a loaded model's (or macro's) module, lookups, statefuls."""
        module = model.components._components
        use_step_cache(model)
        if self._runs.named:
            for py in set(model._namespace.values()):
                component = getattr(module, py, None)
                if callable(component) and py != "time":
                    setattr(module, py, _returning_run_last(component))
        for name, function in {**_ARRAY_FUNCTIONS, **VECTOR_FUNCTIONS}.items():
            setattr(module, name, function)
        setattr(module, _POWER_NAME, _power)
        setattr(module, _REAL_NAME, _as_real)
        setattr(module, _DATA_ARRAY_NAME, functools.partial(_run_data_array, runs=self._runs))
        setattr(module, _ASSIGN_LOC_NAME, functools.partial(_assign_loc, runs=self._runs))
        setattr(module, _ASSIGN_MASK_NAME, _assign_mask)
        setattr(module, _SUBSCRIPTS_ONLY_NAME, _subscripts_only)
        setattr(module, _RANDOM_DRAW_NAME, self._streams.numpy_draw)
        setattr(module, _RANDOM_RVS_NAME, self._streams.rvs)
        external_lookups = [e for e in model._external_elements if isinstance(e, ExtLookup)]
        for lookup in model._lookup_elements + external_lookups:
            if lookup.interp not in _LOOKUP_INTERPOLATIONS:
                raise UnsupportedConstruct(self.mdl_path, [(lookup.py_name, "lookups")])
            if type(lookup) not in _RUN_LOOKUP_CLASSES:
                raise UnsupportedConstruct(self.mdl_path, [(lookup.py_name,
                                                            type(lookup).__name__)])
            lookup.__class__ = _RUN_LOOKUP_CLASSES[type(lookup)]
        for name, element in model._stateful_elements.items():
            if isinstance(element, Macro):  # a macro: its own module and statefuls
                self._make_model_array_safe(element, {})
            else:
                self._wrap_stateful(element, owners.get(name, name))

    def _stateful_owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for py, deps in self._model._dependencies.items():
            for dep in deps if isinstance(deps, dict) else ():
                if py in self._names.real_of_py:
                    owners.setdefault(dep, self._names.real_of_py[py])
        return owners

    def _wrap_stateful(self, element: Any, variable: str) -> None:
        kind = type(element)
        if kind not in _BROADCAST_ATTRS:
            raise UnsupportedConstruct(self.mdl_path, [(variable, kind.__name__)])
        for attr in _BROADCAST_ATTRS[kind]:
            setattr(element, attr, _Broadcast(getattr(element, attr), self._runs))
        if kind in _UNIFORM_ATTRS:
            attr, what = _UNIFORM_ATTRS[kind]
            setattr(element, attr, _Uniform(getattr(element, attr), variable, what))
        if kind in _RUN_CLASSES:
            element.__class__ = _RUN_CLASSES[kind]
            element.variable = variable

    # -- running

    def run(self, params: xr.Dataset | Mapping[str, Any], outputs: Sequence[str],
            years: Iterable[float] | None = None, *, check_finite: bool = True,
            seed: int = DEFAULT_SEED, run_keys: Sequence[int] | None = None,
            until: float | None = None, inputs: bool = True) -> xr.Dataset:
        """Integrate every run from INITIAL TIME; outputs over ``(run, time)``.

        ``params`` maps parameter names (Vensim or Python names) to scalars or 1-D
        arrays over runs (or DataArrays with dim ``run``); parameters not given keep
        their defaults.  A subscripted constant takes ``(runs, *subscripts)`` values,
        or one element ``'name[e1, e2]'`` a scalar or ``(runs,)`` values (its other
        elements keep their defaults).  ``outputs`` are variable names; ``years`` output times
        (default: every SAVEPER step).  The result also holds every given parameter
        as a ``(run,)`` variable (unless it is also an output).  Raises
        :class:`NonFiniteError` if an output is NaN/inf (unless ``check_finite`` is
        False) and :class:`UnknownNameError` for unknown names.

        RANDOM functions draw from one stream per run: run ``i`` draws what plain PySD
        draws after ``np.random.seed([seed, i])`` (see :mod:`.draws`), or after
        ``np.random.seed([seed, run_keys[i]])`` when ``run_keys`` (each run's index in a
        larger ensemble run in blocks) are given; the result's ``random_seed`` attribute
        records ``seed``.

        ``until``: stop the integration at this step of the clock instead of FINAL TIME
        (the steps before it are the same operations on the same values, so outputs up to
        ``until`` are bit-identical; ``years`` must not pass it). ``inputs=False`` leaves
        the given parameters out of the result (a caller that only reads outputs).
        """
        arrays, times, given, labels = self.run_arrays(params, outputs, years, seed=seed,
                                                       run_keys=run_keys, until=until)
        if check_finite:
            _raise_if_non_finite(arrays, times, labels, given)
        result = self._dataset(arrays, given if inputs else {}, labels, times)
        result.attrs["random_seed"] = int(seed)  # (assign_attrs would copy every variable)
        return result

    def run_arrays(self, params: xr.Dataset | Mapping[str, Any], outputs: Sequence[str],
                   years: Iterable[float] | None = None, *, seed: int = DEFAULT_SEED,
                   run_keys: Sequence[int] | None = None, until: float | None = None
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray],
                              np.ndarray]:
        """:meth:`run`'s integration without the dataset: each output's array ``(run,
        time, *subscripts)`` by its Vensim name, the times, the given parameters and the
        run labels (a caller evaluating many small ensembles skips xarray's cost)."""
        given, labels = self._given(params)
        out_names = list(dict.fromkeys(self._names.real(name, "output") for name in outputs))
        self._check_outputs(out_names)
        with self._lock:
            control = self._set_parameters(given, len(labels))
            times = self._years(control, years)
            stop = self._until(control, until, times)
            self._streams.reset(seed, len(labels), self._runs.named,
                                None if run_keys is None else np.asarray(run_keys))
            arrays, times = self._integrate(len(labels), out_names, times, control, stop)
        return arrays, times, given, labels

    def _check_outputs(self, out_names: list[str]) -> None:
        for real in out_names:
            if self._model.get_args(self._names.py_of_real[real]):
                raise EngineError(f"output {real!r} is a lookup function, not a variable")

    def _set_parameters(self, given: dict[str, np.ndarray], n: int) -> _Control:
        """Set every constant for this ensemble; the control values it gives.

        Constants not given keep their default value as PySD holds it (a Python
        int stays an int, with Python's exact integer arithmetic); given ones are
        ``(n,)`` float64 arrays, except those setting a control value, which must be
        one number for all runs and are set as that number.
        """
        model = self._model
        model._remove_constant_cache()  # left in place only if a previous run raised
        values: dict[str, Any] = {}
        for real, py in self._constants.items():
            value = given.get(real, self._defaults[real])
            if real in given and real in self.control_inputs:
                value = self._one_value(real, given[real])
            elif real in given and self._runs.named:
                subscripts = self._constant_subscripts(real)
                value = xr.DataArray(np.moveaxis(value, 0, -1), dims=[*subscripts, RUN],
                                     coords=subscripts)
            values[py] = value
        self._set_constants(values)
        self._runs.n = n
        model.clean_caches()
        if self.changing_controls:  # their values at INITIAL TIME, not the last run's end
            with np.errstate(all="ignore"), self._named_failures():
                model.initialize()
        return _Control.of(model)

    def _one_value(self, real: str, values: np.ndarray) -> float:
        distinct = np.unique(values)
        if distinct.size != 1:
            controls = " and ".join(self.control_inputs[real])
            raise EngineError(
                f"parameter {real!r} sets {controls}, which must be one value for all runs "
                f"of an ensemble (got {distinct.min():g}..{distinct.max():g}); run one "
                f"ensemble per value")
        return float(distinct[0])

    def _years(self, control: _Control, years: Iterable[float] | None) -> np.ndarray | None:
        """The output times; None: the steps PySD saves (control values changing in
        the run, where the grid is only known as PySD's clock runs)."""
        if not self.changing_controls:
            return control.years(years)
        if years is None:
            return None
        listed = [years] if np.isscalar(years) else list(years)
        values = np.unique(np.ravel(np.asarray(listed, dtype=np.float64)))
        if values.size == 0:
            raise EngineError("years is empty")
        return values

    def _until(self, control: _Control, until: float | None,
               times: np.ndarray | None) -> float | None:
        """The stop time ``until`` checked: a step of a fixed clock, no output after it."""
        if until is None:
            return None
        if self.changing_controls or times is None:
            raise EngineError("until: a control value changes during the run; run to FINAL TIME")
        steps = (until - control.initial_time) / control.time_step
        if abs(steps - round(steps)) > 1e-6 or not control.initial_time <= until \
                <= control.final_time or (times.size and times.max() > until + 1e-9):
            raise EngineError(f"until {until:g} is not a step of the clock at or after every "
                              "output year")
        return float(until)

    def _integrate(self, n: int, out_names: list[str], times: np.ndarray | None,
                   control: _Control, until: float | None = None
                   ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        model = self._model
        for lookup in model._lookup_elements + model._external_elements:
            lookup.warned = set()
        for element in model._stateful_elements.values():
            element.shape_info = None  # else the last run's shapes are imposed on the new state
        self._step.reset()
        py_outputs = [self._names.py_of_real[real] for real in out_names]
        columns = len(times) if times is not None else max(len(control.default_years()), 1)
        with np.errstate(all="ignore"), self._named_failures():
            handler = model.run(
                return_columns=py_outputs,
                return_timestamps=None if times is None else list(times),
                final_time=(model.components._control_vars["final_time"] if until is None
                            else until),
                output_file=_handler_file(n, columns))
        if times is None:  # PySD's own saved steps
            times = np.asarray(handler.times, dtype=np.float64)
        index = _match_times(handler.times, times, control.time_step)
        return {real: handler.pop_series(self._names.py_of_real[real], index)
                for real in out_names}, times

    @contextlib.contextmanager
    def _named_failures(self) -> Iterator[None]:
        """A raw exception of the model's own code over run arrays -> a refusal by name.

        Names the variable whose equation raised (the innermost frame of the
        translated file).
        """
        try:
            yield
        except EngineError:
            raise
        except Exception as error:
            frames = [frame for frame in traceback.extract_tb(error.__traceback__)
                      if Path(frame.filename).parent == self.py_path.parent]
            where = frames[-1].name if frames else "<model>"
            variable = self._names.real_of_py.get(where, where)
            raise UnsupportedConstruct(self.mdl_path, [(variable, (
                f"an equation that raised over run arrays ({type(error).__name__}: "
                f"{' '.join(str(error).split())[:200]})"))]) from error

    def _subscripts_of(self, real: str) -> dict[str, list]:
        """Subscript ranges of a variable, in PySD's order ({} if unsubscripted)."""
        return _subscripts(self._model, self._names.py_of_real[real])

    def _set_constants(self, values: Mapping[str, np.ndarray]) -> None:
        """``Model.set_components`` for constant values, which refuses numpy arrays.

        As PySD's ``_set_components`` does for a value that is neither a Series nor
        a callable: the component becomes ``lambda: value`` keeping the original's
        attributes, has no dependencies and leaves the step cache.  Unlike PySD,
        ``__wrapped__`` (set by the cache decorator) is not copied: it would chain
        every run's function, and with it every run's parameter arrays, to the next.
        """
        model = self._model
        components = model.components
        for py, value in values.items():
            original = getattr(components, py)
            constant = _constant_function(value)
            constant.__name__ = py
            constant.__dict__.update({key: attr for key, attr
                                      in getattr(original, "__dict__", {}).items()
                                      if key != "__wrapped__"})
            components._set_component(py, constant)
            # the same empty dict at every call: the call counts of the graph stay valid
            # (overhead._CallCounts recounts a graph whose dict objects changed)
            model._dependencies[py] = self._no_dependencies.setdefault(py, {})
            model.cache.cached_funcs.discard(py)

    def _dataset(self, arrays: dict[str, np.ndarray], given: dict[str, np.ndarray],
                 labels: np.ndarray, times: np.ndarray) -> xr.Dataset:
        variables = {}
        for real, values in arrays.items():
            subscripts = self._subscripts_of(real)
            variables[real] = ((RUN, TIME, *subscripts), values, subscripts)
        for real, values in given.items():
            if real not in variables:
                subscripts = self._constant_subscripts(real)
                variables[real] = ((RUN, *subscripts), values, subscripts)
        return _dataset_of(variables, {RUN: labels, TIME: times},
                           {"model": self.mdl_path.name, "model_sha256": self.model_sha256,
                            "pysd_version": pysd.__version__})


def _constant_function(value: Any) -> Callable[[], Any]:
    """``lambda: value`` (PySD's ``_constant_component`` without dimensions)."""
    return lambda: value


def _raise_if_non_finite(arrays: Mapping[str, np.ndarray], times: np.ndarray,
                         labels: np.ndarray, given: Mapping[str, np.ndarray]) -> None:
    """Raise NonFiniteError naming the first (time, run, variable) with NaN or inf."""
    first: tuple[int, int, str] | None = None
    affected = np.zeros(len(labels), dtype=bool)
    for name, values in arrays.items():
        bad = ~np.isfinite(values)
        if not bad.any():
            continue
        bad = bad.reshape(bad.shape[:2] + (-1,)).any(axis=2)  # any subscript element
        affected |= bad.any(axis=1)
        t = int(np.argmax(bad.any(axis=0)))
        candidate = (t, int(np.argmax(bad[:, t])), name)
        if first is None or candidate[:2] < first[:2]:
            first = candidate
    if first is None:
        return
    t, run, name = first
    value = arrays[name][run, t].ravel()[~np.isfinite(arrays[name][run, t].ravel())][0]
    label = labels[run]
    inputs = ", ".join(f"{k}={float(v[run]):.17g}" if v.ndim == 1 else f"{k}={v[run].tolist()}"
                       for k, v in given.items())
    where = f"run {run}" + (f" (label {label!r})" if label != run else "")
    raise NonFiniteError(
        f"non-finite value {value} in {where}, variable '{name}' at time {times[t]:g} "
        f"({int(affected.sum())} of {len(labels)} runs affected); "
        f"inputs of run {run}: {inputs or 'defaults'}",
        run=run, run_label=label, variable=name, time=float(times[t]),
        n_runs=int(affected.sum()))
